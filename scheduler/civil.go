package scheduler

// Civil (wall-clock) arithmetic without time zones. A wall time is held as
// "wall seconds": the Unix seconds the same calendar reading would have in
// UTC. Doing the field arithmetic here instead of through time.Date keeps
// the cron search allocation-free and fast, and makes the mapping from wall
// readings to instants an explicit, separate step (see cron_dst.go).

const secondsPerDay = 86400

// daysFromCivil returns the days since 1970-01-01 of the proleptic
// Gregorian date y-m-d (m 1..12, d 1..31).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// floorDiv divides rounding towards negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// wallFields splits wall seconds into calendar fields.
func wallFields(w int64) (y, mo, d, h, mi, s int) {
	days := floorDiv(w, secondsPerDay)
	rem := int(w - days*secondsPerDay)
	y, mo, d = civilFromDays(days)
	return y, mo, d, rem / 3600, rem / 60 % 60, rem % 60
}

// wallSeconds joins calendar fields into wall seconds.
func wallSeconds(y, mo, d, h, mi, s int) int64 {
	return daysFromCivil(y, mo, d)*secondsPerDay + int64(h*3600+mi*60+s)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn returns the number of days of month m (1..12) of year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// weekdayOf returns the day of the week of y-m-d, 0 = Sunday .. 6 = Saturday.
func weekdayOf(y, m, d int) int {
	w := (daysFromCivil(y, m, d) + 4) % 7 // 1970-01-01 was a Thursday
	if w < 0 {
		w += 7
	}
	return int(w)
}
