package scheduler

import (
	"slices"
	"strings"
	"time"
)

// dailyRule is Quartz 2.3's DailyTimeIntervalTriggerImpl: on the chosen
// days of the week, fire at start_time_of_day and every interval after it
// up to end_time_of_day (inclusive); repeat_count bounds the fires over the
// trigger's whole life (Quartz 2.x). Quartz 2.3 computes these in the JVM's
// default zone; swarm uses the trigger's time_zone in its place, with
// java.util.Calendar's DST arithmetic (javacal.go).
type dailyRule struct {
	loc      *zone
	startTOD int // seconds of the day
	endTOD   int
	days     [8]bool // 1 = Sunday .. 7 = Saturday
	interval int64
	unitSec  int64
	end      *time.Time
}

// first is computeFirstFireTime, getFireTimeAfter(start - 1s), except that
// a start with milliseconds rounds up: Quartz truncates it and can return a
// first fire up to a second before the start.
func (r *dailyRule) first(st State) (time.Time, bool) { return r.atOrAfter(st.Start, st) }

// after is getFireTimeAfter: Quartz looks for the first slot at or after
// t + 1s.
func (r *dailyRule) after(t time.Time, st State) (time.Time, bool) {
	return r.from(floorMs(t)+1000, st)
}

// atOrAfter rounds up to the second: every slot is on a whole second.
func (r *dailyRule) atOrAfter(t time.Time, st State) (time.Time, bool) {
	return r.from((ceilMs(t)+999)/1000*1000, st)
}

func (r *dailyRule) tod(ms int64, sec int) int64 {
	return jcal{ms: ms, loc: r.loc}.setTimeOfDay(sec).ms
}

// from is the body of getFireTimeAfter after its "+1 second".
func (r *dailyRule) from(x int64, st State) (time.Time, bool) {
	if st.RepeatCount != -1 && st.Times > st.RepeatCount {
		return time.Time{}, false
	}
	x = max(x, floorMs(st.Start))

	fire, ok := r.advance(x, x > r.tod(x, r.endTOD))
	if !ok {
		return time.Time{}, false
	}
	dayEnd := r.tod(fire, r.endTOD)
	dayStart := r.tod(fire, r.startTOD)
	if fire < dayStart {
		return r.bound(dayStart)
	}

	// Quartz truncates to whole seconds here.
	secs := (fire - dayStart) / 1000
	step := r.interval * r.unitSec
	jump := secs / step
	if secs%step != 0 {
		jump++
	}
	fire = dayStart + r.interval*jump*r.unitSec*1000

	if fire > dayEnd {
		fire, ok = r.advance(fire, sameDay(r.loc, fire, dayEnd))
		if !ok {
			return time.Time{}, false
		}
		fire = r.tod(fire, r.startTOD)
	}
	return r.bound(fire)
}

// advance is advanceToNextDayOfWeekIfNecessary: stay on the day of t if it
// is a chosen day and not forced on, else the start of the next chosen day.
func (r *dailyRule) advance(t int64, force bool) (int64, bool) {
	c := jcal{ms: r.tod(t, r.startTOD), loc: r.loc}
	if force || !r.days[c.weekday()] {
		for range 7 {
			c = c.addDays(1)
			if r.days[c.weekday()] {
				t = c.ms
				break
			}
		}
	}
	if r.end != nil && t > floorMs(*r.end) {
		return 0, false
	}
	return t, true
}

// bound applies end_at, inclusive. Quartz 2.3 checks end_at only when it
// moves to another day, so it can fire once past end_at on the same day;
// swarm never fires after end_at.
func (r *dailyRule) bound(ms int64) (time.Time, bool) {
	if r.end != nil && ms > floorMs(*r.end) {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

var weekDays = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

var fullDayNames = map[string]string{
	"SUNDAY": "SUN", "MONDAY": "MON", "TUESDAY": "TUE", "WEDNESDAY": "WED",
	"THURSDAY": "THU", "FRIDAY": "FRI", "SATURDAY": "SAT",
}

// parseWeekday accepts MON, mon, Monday, ...; returns 1 = Sunday .. 7.
func parseWeekday(field, s string) (int, error) {
	up := strings.ToUpper(strings.TrimSpace(s))
	if full, ok := fullDayNames[up]; ok {
		up = full
	}
	i := slices.Index(weekDays, up)
	if i < 0 {
		return 0, fieldErr(field, "%q is not a day of the week (MON, TUE, WED, THU, FRI, SAT, SUN)", s)
	}
	return i + 1, nil
}

func compileDaily(s *Spec, tr *trigger) error {
	interval, unit, err := intervalCount(s, "minute", intervalUnits[:3])
	if err != nil {
		return err
	}
	unitSec := map[string]int64{"second": 1, "minute": 60, "hour": 3600}[unit]
	if interval*unitSec > secondsPerDay {
		return fieldErr("interval", "%d %ss is longer than a day (24 hours at most)", interval, unit)
	}
	repeat, err := normalizeRepeat(s)
	if err != nil {
		return err
	}

	r := &dailyRule{loc: zoneOf(tr.loc), interval: interval, unitSec: unitSec, end: s.EndAt}
	if len(s.DaysOfWeek) == 0 {
		s.DaysOfWeek = []string{"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}
	}
	for i, d := range s.DaysOfWeek {
		n, err := parseWeekday(fmtIndex("days_of_week", i), d)
		if err != nil {
			return err
		}
		r.days[n] = true
	}
	s.DaysOfWeek = nil
	for _, n := range []int{2, 3, 4, 5, 6, 7, 1} { // normalized: Monday first
		if r.days[n] {
			s.DaysOfWeek = append(s.DaysOfWeek, weekDays[n-1])
		}
	}

	if s.StartTimeOfDay == "" {
		s.StartTimeOfDay = "00:00:00"
	}
	if s.EndTimeOfDay == "" {
		s.EndTimeOfDay = "23:59:59"
	}
	if r.startTOD, err = parseTimeOfDay("start_time_of_day", s.StartTimeOfDay); err != nil {
		return err
	}
	if r.endTOD, err = parseTimeOfDay("end_time_of_day", s.EndTimeOfDay); err != nil {
		return err
	}
	if r.endTOD <= r.startTOD {
		return fieldErr("end_time_of_day", "%s must be after start_time_of_day %s", s.EndTimeOfDay, s.StartTimeOfDay)
	}
	s.StartTimeOfDay, s.EndTimeOfDay = formatTimeOfDay(r.startTOD), formatTimeOfDay(r.endTOD)

	tr.repeatCount = repeat
	tr.rule = r
	return nil
}
