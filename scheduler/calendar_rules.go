package scheduler

import (
	"math"
	"time"
)

// Calendars work on whole milliseconds, as Quartz's do (isTimeIncluded
// takes a long). Included is Quartz's isTimeIncluded for each calendar
// class. NextIncluded is exact, unlike Quartz's getNextIncludedTime (which
// returns the start of the day for the day-based calendars): triggers use
// it to jump over excluded stretches, and reach the same fire times
// Quartz's fire-by-fire walk reaches.

// calendarRule is one calendar kind's own exclusion, without the base.
type calendarRule interface {
	// included reports whether the millisecond ms is not excluded.
	included(ms int64) bool
	// next returns the first included millisecond at or after ms, or
	// false when there is none before lastCalendarMs.
	next(ms int64) (int64, bool)
}

// lastCalendarMs bounds every search: after MaxCronYear nothing fires.
var lastCalendarMs = wallSeconds(MaxCronYear+2, 1, 1, 0, 0, 0) * 1000

// maxCalendarSteps bounds each search loop.
const maxCalendarSteps = 1 << 20

type calendar struct {
	spec CalendarSpec
	loc  *zone
	rule calendarRule
	base Calendar
}

func (c *calendar) Spec() CalendarSpec { return cloneCalendarSpec(c.spec) }

func (c *calendar) Included(t time.Time) bool {
	ms := floorMs(t)
	return c.rule.included(ms) && (c.base == nil || c.base.Included(time.UnixMilli(ms)))
}

// NextIncluded returns the first instant after t that both this calendar
// and its base include, or the zero time.
func (c *calendar) NextIncluded(t time.Time) time.Time {
	ms := floorMs(t) + 1
	for range maxCalendarSteps {
		own, ok := c.rule.next(ms)
		if !ok || own > lastCalendarMs {
			return time.Time{}
		}
		at := time.UnixMilli(own).UTC()
		if c.base == nil || c.base.Included(at) {
			return at
		}
		b := c.base.NextIncluded(at)
		if b.IsZero() {
			return time.Time{}
		}
		ms = floorMs(b)
	}
	return time.Time{}
}

// localDays is the civil day (days since 1970-01-01) of Unix second u in loc.
func localDays(loc *zone, u int64) int64 {
	return floorDiv(u+offsetMs(loc, u*1000)/1000, secondsPerDay)
}

// dayStart returns the first Unix second whose civil day in loc is day.
// Midnight may not exist (a DST gap at 00:00) or exist twice; the answer
// is the first instant of the day either way.
func dayStart(loc *zone, day int64) int64 {
	if loc.table == nil {
		return day * secondsPerDay
	}
	lo, hi := (day-2)*secondsPerDay, (day+2)*secondsPerDay
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		if localDays(loc, mid) >= day {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// dayCalendar excludes whole local days: holiday, annual, monthly, weekly.
type dayCalendar struct {
	loc      *zone
	days     map[int64]bool
	excluded func(day int64, y, m, d int) bool
}

func (r *dayCalendar) dayExcluded(day int64) bool {
	y, m, d := civilFromDays(day)
	return r.excluded(day, y, m, d)
}

func (r *dayCalendar) included(ms int64) bool {
	return !r.dayExcluded(localDays(r.loc, floorDiv(ms, 1000)))
}

func (r *dayCalendar) next(ms int64) (int64, bool) {
	for range maxCalendarSteps {
		if ms > lastCalendarMs {
			return 0, false
		}
		day := localDays(r.loc, floorDiv(ms, 1000))
		if !r.dayExcluded(day) {
			return ms, true
		}
		ms = dayStart(r.loc, day+1) * 1000
	}
	return 0, false
}

// dailyCalendar is Quartz's DailyCalendar: it excludes [start, end]
// (inclusive, milliseconds of the local day) every day, or with invert
// everything outside it. Quartz 2.3 also excludes the exact first
// millisecond of every day (midnight) when not inverted, a bug swarm does
// not copy.
type dailyCalendar struct {
	loc        *zone
	start, end int64 // ms of the day
	invert     bool
}

// bounds returns the excluded range of the local day of ms, as instants.
func (r *dailyCalendar) bounds(ms int64) (int64, int64) {
	c := jcal{ms: ms, loc: r.loc}
	wallDay := floorDiv(c.wallMs(), msPerDay) * msPerDay
	return javaResolve(r.loc, wallDay+r.start), javaResolve(r.loc, wallDay+r.end)
}

func (r *dailyCalendar) included(ms int64) bool {
	lo, hi := r.bounds(ms)
	inRange := ms >= lo && ms <= hi
	return inRange == r.invert
}

func (r *dailyCalendar) next(ms int64) (int64, bool) {
	for range maxCalendarSteps {
		if ms > lastCalendarMs {
			return 0, false
		}
		lo, hi := r.bounds(ms)
		switch {
		case !r.invert && ms >= lo && ms <= hi:
			ms = hi + 1
		case r.invert && ms < lo:
			ms = lo
		case r.invert && ms > hi:
			ms = dayStart(r.loc, localDays(r.loc, floorDiv(ms, 1000))+1) * 1000
		default:
			return ms, true
		}
	}
	return 0, false
}

// cronCalendar is Quartz's CronCalendar: it excludes every second whose
// wall-clock reading in the zone matches the expression (in a fall-back
// overlap both readings; in a gap, nothing, as no reading happens).
type cronCalendar struct {
	expr *cronExpr
	loc  *zone
}

func (r *cronCalendar) included(ms int64) bool {
	return !r.expr.matchesInstant(r.loc, time.UnixMilli(ms))
}

func (r *cronCalendar) next(ms int64) (int64, bool) {
	for range maxCalendarSteps {
		if ms > lastCalendarMs {
			return 0, false
		}
		u := floorDiv(ms, 1000)
		sp := spanAt(r.loc, u)
		w := u + sp.off
		if !r.expr.matchesWall(w) {
			return ms, true
		}
		w2, ok := r.nextMiss(w)
		if !ok {
			return 0, false
		}
		u2 := w2 - sp.off
		if sp.end != math.MaxInt64 && u2 >= sp.end {
			u2 = sp.end // the offset changes first; look again from there
		}
		ms = u2 * 1000
	}
	return 0, false
}

// nextMiss returns the first wall second after w (which matches) that does
// not match, stepping by the smallest field that can change the answer.
func (r *cronCalendar) nextMiss(w int64) (int64, bool) {
	step := int64(secondsPerDay)
	switch {
	case r.expr.sec != 1<<60-1:
		step = 1
	case r.expr.min != 1<<60-1:
		step = 60
	case !r.expr.allHours:
		step = 3600
	}
	w = floorDiv(w, step)*step + step
	for ; w <= lastCronInstant+secondsPerDay; w += step {
		if !r.expr.matchesWall(w) {
			return w, true
		}
	}
	return 0, false
}
