package scheduler

import "time"

// calRule is Quartz 2.3's CalendarIntervalTriggerImpl: fires at start and
// then every interval units, counted on the calendar of the trigger's zone
// with java.util.Calendar arithmetic (javacal.go); end_at is exclusive.
// Month and year steps clamp the day to the month's end and stay there
// (Jan 31, Feb 28, Mar 28, ...), as Quartz does.
type calRule struct {
	loc      *zone
	unit     string
	interval int64
	preserve bool // preserve_hour_of_day_across_dst
	skip     bool // skip_day_if_hour_does_not_exist
	end      *time.Time
}

func (r *calRule) first(st State) (time.Time, bool) { return st.Start, true }

// atOrAfter: every fire is on a whole millisecond.
func (r *calRule) atOrAfter(t time.Time, st State) (time.Time, bool) {
	return r.after(time.UnixMilli(ceilMs(t)-1), st)
}

// after is getFireTimeAfter, step for step, including its leaps for day
// and week units and its brute-force walk for months and years: with DST
// the walk's path decides the result, so it is kept exactly.
func (r *calRule) after(t time.Time, st State) (time.Time, bool) {
	afterMs, startMs := floorMs(t), floorMs(st.Start)
	if r.end != nil && floorMs(*r.end) <= afterMs {
		return time.Time{}, false
	}
	if afterMs < startMs {
		return st.Start, true
	}

	secs := 1 + (afterMs-startMs)/1000
	c := jcal{ms: startMs, loc: r.loc}
	switch r.unit {
	case "second", "minute", "hour":
		unitSec := map[string]int64{"second": 1, "minute": 60, "hour": 3600}[r.unit]
		step := r.interval * unitSec
		jump := secs / step
		if secs%step != 0 {
			jump++
		}
		// Quartz multiplies in Java int here, which overflows 68 years
		// after the start for seconds; swarm does not.
		c.ms += r.interval * jump * unitSec * 1000
	case "day", "week":
		days := int64(1)
		if r.unit == "week" {
			days = 7
		}
		initialHour := c.hour()
		jump := secs / (r.interval * days * secondsPerDay)
		if jump > 20 {
			switch {
			case jump < 50:
				jump = int64(float64(jump) * 0.80)
			case jump < 500:
				jump = int64(float64(jump) * 0.90)
			default:
				jump = int64(float64(jump) * 0.95)
			}
			c = c.addDays(r.interval * jump * days)
		}
		step := func(c jcal) jcal { return c.addDays(r.interval * days) }
		c = r.walk(c, afterMs, initialHour, step)
	case "month":
		c = r.walk(c, afterMs, c.hour(), func(c jcal) jcal { return c.addMonths(r.interval) })
	case "year":
		c = r.walk(c, afterMs, c.hour(), func(c jcal) jcal { return c.addYears(r.interval) })
	}

	if (r.end != nil && floorMs(*r.end) <= c.ms) || c.ms <= afterMs {
		return time.Time{}, false
	}
	return time.UnixMilli(c.ms).UTC(), true
}

// walk steps until past afterMs, then keeps stepping while the
// preserve-hour rule asks for it (daylightSavingHourShiftOccurredAndAdvanceNeeded).
func (r *calRule) walk(c jcal, afterMs int64, initialHour int, step func(jcal) jcal) jcal {
	for c.ms <= afterMs && c.wallMs() < giveUpWallMs {
		c = step(c)
	}
	for r.hourShifted(&c, initialHour, afterMs) && c.wallMs() < giveUpWallMs {
		c = step(c)
	}
	return c
}

// giveUpWallMs is Quartz's YEAR_TO_GIVEUP_SCHEDULING_AT as a wall reading:
// the walk stops in the year MaxCronYear.
var giveUpWallMs = wallSeconds(MaxCronYear, 1, 1, 0, 0, 0) * 1000

func (r *calRule) hourShifted(c *jcal, initialHour int, afterMs int64) bool {
	if !r.preserve || c.hour() == initialHour {
		return false
	}
	*c = c.setHour(initialHour)
	if c.hour() != initialHour {
		return r.skip
	}
	return c.ms <= afterMs
}

func compileCalendarInterval(s *Spec, tr *trigger) error {
	interval, unit, err := intervalCount(s, "day", intervalUnits)
	if err != nil {
		return err
	}
	long := unit == "day" || unit == "week" || unit == "month" || unit == "year"
	if s.PreserveHourOfDayAcrossDST && !long {
		return fieldErr("preserve_hour_of_day_across_dst", "applies only to a unit of a day or longer, not %q", unit)
	}
	if s.SkipDayIfHourDoesNotExist && !s.PreserveHourOfDayAcrossDST {
		return fieldErr("skip_day_if_hour_does_not_exist", "requires preserve_hour_of_day_across_dst")
	}
	tr.rule = &calRule{
		loc: zoneOf(tr.loc), unit: unit, interval: interval, end: s.EndAt,
		preserve: s.PreserveHourOfDayAcrossDST, skip: s.SkipDayIfHourDoesNotExist,
	}
	return nil
}
