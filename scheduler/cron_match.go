package scheduler

import "math/bits"

// nextBit returns the lowest set bit of set at or above pos, or -1.
func nextBit(set uint64, pos int) int {
	if pos < 0 {
		pos = 0
	}
	if pos >= 64 {
		return -1
	}
	m := set & (^uint64(0) << uint(pos))
	if m == 0 {
		return -1
	}
	return bits.TrailingZeros64(m)
}

// yearIn reports whether year y is in the year field.
func (c *cronExpr) yearIn(y int) bool {
	if y < MinCronYear || y > MaxCronYear {
		return false
	}
	i := y - MinCronYear
	return c.years[i/64]&(1<<uint(i%64)) != 0
}

// nextYear returns the first year of the year field at or after y, or -1.
func (c *cronExpr) nextYear(y int) int {
	if y < MinCronYear {
		y = MinCronYear
	}
	for i := y - MinCronYear; i <= MaxCronYear-MinCronYear; {
		w := c.years[i/64] >> uint(i%64)
		if w != 0 {
			return MinCronYear + i + bits.TrailingZeros64(w)
		}
		i = (i/64 + 1) * 64
	}
	return -1
}

// weekPattern has a bit every 7 days, so shifting it to the first x-day of
// a month marks every x-day of that month.
const weekPattern = 1 | 1<<7 | 1<<14 | 1<<21 | 1<<28

// dayMask returns the days (bits 1..31) of month mo of year y that the
// day-of-month or day-of-week field selects.
func (c *cronExpr) dayMask(y, mo int) uint64 {
	n := daysIn(y, mo)
	full := uint64(1)<<uint(n+1) - 2
	switch c.domKind {
	case domSet:
		return uint64(c.dom) & full
	case domLast:
		d := n - c.lastOffset
		if d < 1 {
			return 0
		}
		if c.lastWeekday {
			d = nearestWeekday(d, weekdayOf(y, mo, d), n)
		}
		return 1 << uint(d)
	case domNearest:
		if c.nearDay > n {
			// Quartz 2.3 can fire "31W" on the 30th of a 30-day month in
			// some paths (lenient calendar overflow); swarm never fires a
			// W day in a month that lacks the day. See docs/triggers.md.
			return 0
		}
		return 1 << uint(nearestWeekday(c.nearDay, weekdayOf(y, mo, c.nearDay), n))
	}

	first := weekdayOf(y, mo, 1) // 0 = Sunday
	switch c.dowKind {
	case dowSet:
		var m uint64
		for wd := 0; wd < 7; wd++ {
			if c.dow&(1<<uint(wd+1)) != 0 {
				m |= weekPattern << uint(1+(wd-first+7)%7)
			}
		}
		return m & full
	case dowLast:
		d := n - (weekdayOf(y, mo, n)-(c.dowDay-1)+7)%7
		return 1 << uint(d)
	case dowNth:
		d := 1 + (c.dowDay-1-first+7)%7 + 7*(c.nth-1)
		if d > n {
			return 0
		}
		return 1 << uint(d)
	}
	return 0
}

// nearestWeekday moves day d (weekday wd, 0 = Sunday) of an n-day month to
// the nearest Monday..Friday without leaving the month, as Quartz's W does.
func nearestWeekday(d, wd, n int) int {
	switch wd {
	case 6: // Saturday
		if d == 1 {
			return 3
		}
		return d - 1
	case 0: // Sunday
		if d == n {
			return d - 2
		}
		return d + 1
	}
	return d
}

// matchesWall reports whether wall seconds w match every field.
func (c *cronExpr) matchesWall(w int64) bool {
	y, mo, d, h, mi, s := wallFields(w)
	return c.yearIn(y) &&
		c.month&(1<<uint(mo)) != 0 &&
		c.dayMask(y, mo)&(1<<uint(d)) != 0 &&
		c.hour&(1<<uint(h)) != 0 &&
		c.min&(1<<uint(mi)) != 0 &&
		c.sec&(1<<uint(s)) != 0
}

// nextWall returns the first wall time at or after w that matches every
// field, or false when there is none up to MaxCronYear. It works on
// calendar fields only; time zones are applied by the caller.
func (c *cronExpr) nextWall(w int64) (int64, bool) {
	y, mo, d, h, mi, s := wallFields(w)
	for {
		if y > MaxCronYear {
			return 0, false
		}
		if !c.yearIn(y) {
			ny := c.nextYear(y)
			if ny < 0 {
				return 0, false
			}
			y, mo, d, h, mi, s = ny, 1, 1, 0, 0, 0
			continue
		}
		if c.month&(1<<uint(mo)) == 0 {
			nm := nextBit(uint64(c.month), mo)
			if nm < 0 {
				y, mo = y+1, 1
			} else {
				mo = nm
			}
			d, h, mi, s = 1, 0, 0, 0
			continue
		}
		nd := nextBit(c.dayMask(y, mo), d)
		if nd < 0 {
			y, mo, d, h, mi, s = nextMonth(y, mo)
			continue
		}
		if nd != d {
			d, h, mi, s = nd, 0, 0, 0
		}
		nh := nextBit(uint64(c.hour), h)
		if nh < 0 {
			y, mo, d, h, mi, s = nextDay(y, mo, d)
			continue
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nmi := nextBit(c.min, mi)
		if nmi < 0 {
			if h == 23 {
				y, mo, d, h, mi, s = nextDay(y, mo, d)
			} else {
				h, mi, s = h+1, 0, 0
			}
			continue
		}
		if nmi != mi {
			mi, s = nmi, 0
		}
		ns := nextBit(c.sec, s)
		if ns < 0 {
			switch {
			case mi < 59:
				mi, s = mi+1, 0
			case h < 23:
				h, mi, s = h+1, 0, 0
			default:
				y, mo, d, h, mi, s = nextDay(y, mo, d)
			}
			continue
		}
		return wallSeconds(y, mo, d, h, mi, ns), true
	}
}

func nextMonth(y, mo int) (int, int, int, int, int, int) {
	if mo == 12 {
		return y + 1, 1, 1, 0, 0, 0
	}
	return y, mo + 1, 1, 0, 0, 0
}

func nextDay(y, mo, d int) (int, int, int, int, int, int) {
	if d >= daysIn(y, mo) {
		return nextMonth(y, mo)
	}
	return y, mo, d + 1, 0, 0, 0
}
