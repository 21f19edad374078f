package scheduler

import (
	"math"
	"time"
)

// The DailyTimeInterval and CalendarInterval triggers keep Quartz 2.3's
// own daylight-saving behaviour, which is whatever java.util.Calendar
// (lenient GregorianCalendar) does with the arithmetic those triggers use.
// jcal reproduces the three operations involved, measured against a JDK:
//
//   - Reading a wall time (Calendar.set of date/time fields): a reading in
//     a spring-forward gap is taken with the offset before the gap (02:30
//     becomes 03:30 EDT); a reading in a fall-back overlap resolves to its
//     second occurrence (standard time).
//   - add(DAY_OF_YEAR / DATE / WEEK_OF_YEAR, n): keeps the time of day,
//     computed with the old offset, then corrected by the offset change
//     unless the correction changes the date. Landing in a gap therefore
//     moves the time BACK by the gap (02:30 becomes 01:30 EST), and the
//     next add starts from there: the drift Quartz's
//     preserveHourOfDayAcrossDaylightSavings exists to undo.
//   - add(MONTH / YEAR, n): field arithmetic, day of month clamped to the
//     month's end, then read as a wall time as above.
//   - add(HOUR_OF_DAY / MINUTE / SECOND, n): elapsed time.
//
// Java switches to a rule-based zone after 2037 and reads gap times
// differently there; swarm keeps the behaviour above for all years.
// Times are Unix milliseconds, like java.util.Date.

const msPerDay = secondsPerDay * 1000

type jcal struct {
	ms  int64
	loc *zone
}

func (c jcal) hour() int {
	wall := c.wallMs()
	return int((wall - floorDiv(wall, msPerDay)*msPerDay) / 3600_000)
}

// weekday returns Java's DAY_OF_WEEK: 1 = Sunday .. 7 = Saturday.
func (c jcal) weekday() int {
	w := (floorDiv(c.wallMs(), msPerDay) + 4) % 7 // 1970-01-01 was a Thursday
	if w < 0 {
		w += 7
	}
	return int(w) + 1
}

// offsetMs is the UTC offset at instant ms, in milliseconds.
func offsetMs(loc *zone, ms int64) int64 {
	if loc.table == nil {
		return 0
	}
	return spanAt(loc, floorDiv(ms, 1000)).off * 1000
}

// javaResolve returns the instant Java gives the wall reading w (wall
// milliseconds): the offset of the last zone span whose first wall reading
// (its start instant plus its own offset) is at or before w.
func javaResolve(loc *zone, w int64) int64 {
	if loc.table == nil {
		return w
	}
	ws := floorDiv(w, 1000)
	sp := spanAt(loc, ws-offsetMs(loc, w)/1000)
	for range 8 {
		if sp.start != math.MinInt64 && (sp.start+sp.off)*1000 > w {
			sp = spanAt(loc, sp.start-1)
			continue
		}
		if sp.end != math.MaxInt64 {
			if next := spanAt(loc, sp.end); (next.start+next.off)*1000 <= w {
				sp = next
				continue
			}
		}
		break
	}
	return w - sp.off*1000
}

// wallMs returns the wall reading of c in milliseconds.
func (c jcal) wallMs() int64 { return c.ms + offsetMs(c.loc, c.ms) }

// addDays is add(DAY_OF_YEAR, n).
func (c jcal) addDays(n int64) jcal {
	off := offsetMs(c.loc, c.ms)
	wall := c.ms + off
	fd := floorDiv(wall, msPerDay)
	tod := wall - fd*msPerDay
	fd += n
	t1 := fd*msPerDay + tod - off
	if delta := off - offsetMs(c.loc, t1); delta != 0 {
		t2 := t1 + delta
		if floorDiv(t2+offsetMs(c.loc, t2), msPerDay) == fd {
			t1 = t2
		}
	}
	return jcal{ms: t1, loc: c.loc}
}

// addMonths is add(MONTH, n); addYears is add(YEAR, n).
func (c jcal) addMonths(n int64) jcal { return c.addYM(0, n) }
func (c jcal) addYears(n int64) jcal  { return c.addYM(n, 0) }

func (c jcal) addYM(years, months int64) jcal {
	wall := c.wallMs()
	days := floorDiv(wall, msPerDay)
	tod := wall - days*msPerDay
	y, mo, d := civilFromDays(days)
	m0 := int64(mo-1) + months
	ny := int64(y) + years + floorDiv(m0, 12)
	nm := int(m0-floorDiv(m0, 12)*12) + 1
	if ny > 1e6 {
		ny = 1e6 // far beyond any give-up year; avoids int overflow
	}
	nd := min(d, daysIn(int(ny), nm))
	return jcal{ms: javaResolve(c.loc, daysFromCivil(int(ny), nm, nd)*msPerDay+tod), loc: c.loc}
}

// setTimeOfDay is set(HOUR_OF_DAY, h); set(MINUTE, m); set(SECOND, s);
// clear(MILLISECOND) on the date of c (Quartz TimeOfDay.getTimeOfDayForDate).
func (c jcal) setTimeOfDay(sec int) jcal {
	days := floorDiv(c.wallMs(), msPerDay)
	return jcal{ms: javaResolve(c.loc, days*msPerDay+int64(sec)*1000), loc: c.loc}
}

// setHour is set(HOUR_OF_DAY, h), keeping minutes, seconds and millis.
func (c jcal) setHour(h int) jcal {
	wall := c.wallMs()
	days := floorDiv(wall, msPerDay)
	tod := wall - days*msPerDay
	tod = int64(h)*3600_000 + tod%3600_000
	return jcal{ms: javaResolve(c.loc, days*msPerDay+tod), loc: c.loc}
}

// sameDay is Quartz's isSameDay: same YEAR and DAY_OF_YEAR in the zone.
func sameDay(loc *zone, a, b int64) bool {
	return floorDiv(a+offsetMs(loc, a), msPerDay) == floorDiv(b+offsetMs(loc, b), msPerDay)
}

// floorMs returns t in Unix milliseconds, rounded down (java.util.Date).
func floorMs(t time.Time) int64 {
	return t.Unix()*1000 + int64(t.Nanosecond()/1e6)
}

// ceilMs returns t in Unix milliseconds, rounded up.
func ceilMs(t time.Time) int64 {
	ms := floorMs(t)
	if t.Nanosecond()%1e6 != 0 {
		ms++
	}
	return ms
}
