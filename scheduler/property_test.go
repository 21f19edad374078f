package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

var propertyZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia", "America/Sao_Paulo"}

// cronItem draws one item of a numeric cron field with values lo..hi.
func cronItem(t *rapid.T, label string, lo, hi int) string {
	v := func() int { return rapid.IntRange(lo, hi).Draw(t, label+"-v") }
	step := func() int { return rapid.IntRange(1, max(1, (hi-lo)/2)).Draw(t, label+"-step") }
	switch rapid.IntRange(0, 6).Draw(t, label+"-form") {
	case 0:
		return "*"
	case 1:
		return fmt.Sprint(v())
	case 2:
		return fmt.Sprintf("%d,%d", v(), v())
	case 3:
		return fmt.Sprintf("%d-%d", v(), v())
	case 4:
		return fmt.Sprintf("*/%d", step())
	case 5:
		return fmt.Sprintf("%d/%d", v(), step())
	default:
		return fmt.Sprintf("%d-%d/%d", v(), v(), step())
	}
}

func drawCron(t *rapid.T) string {
	sec := rapid.SampledFrom([]string{"0", "0", "30", "*/20", cronItem(t, "sec", 0, 59)}).Draw(t, "sec")
	min := rapid.SampledFrom([]string{"0", "*/15", cronItem(t, "min", 0, 59)}).Draw(t, "min")
	hour := cronItem(t, "hour", 0, 23)
	month := rapid.SampledFrom([]string{"*", "*", cronItem(t, "month", 1, 12)}).Draw(t, "month")
	dom, dow := "?", "?"
	d := rapid.IntRange(1, 7).Draw(t, "dowday")
	if rapid.Bool().Draw(t, "bydom") {
		dom = rapid.SampledFrom([]string{"*", cronItem(t, "dom", 1, 31), "L", "L-3", "LW", "15W", "1W", "L-2W"}).Draw(t, "dom")
	} else {
		dow = rapid.SampledFrom([]string{"*", cronItem(t, "dow", 1, 7), fmt.Sprintf("%dL", d), fmt.Sprintf("%d#%d", d, rapid.IntRange(1, 5).Draw(t, "nth"))}).Draw(t, "dow")
	}
	return strings.Join([]string{sec, min, hour, dom, month, dow}, " ")
}

func drawStart(t *rapid.T) time.Time {
	lo := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	return time.Unix(rapid.Int64Range(lo, hi).Draw(t, "start"), 0).UTC()
}

// stableOffset reports whether loc keeps one UTC offset from t-d to t+d.
func stableOffset(loc *time.Location, t time.Time, d time.Duration) bool {
	_, o := t.In(loc).Zone()
	for _, u := range []time.Time{t.Add(-d), t.Add(d)} {
		if _, p := u.In(loc).Zone(); p != o {
			return false
		}
	}
	s, e := t.In(loc).ZoneBounds()
	return (s.IsZero() || t.Sub(s) >= d) && (e.IsZero() || e.Sub(t) >= d)
}

func wallOf(loc *time.Location, t time.Time) int64 {
	_, off := t.In(loc).Zone()
	return t.Unix() + int64(off)
}

// Every cron fire is later than the one before; away from DST transitions
// each fire's wall-clock reading matches the expression, and no second
// between two fires (checked by brute force when they are close) does.
func TestPropertyCronFires(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		expr := drawCron(t)
		zone := rapid.SampledFrom(propertyZones).Draw(t, "zone")
		start := drawStart(t)
		tr, err := Compile(Spec{Kind: KindCron, Cron: expr, TimeZone: zone, StartAt: &start})
		if err != nil {
			t.Fatalf("generated %q: %v", expr, err)
		}
		c := tr.(*trigger).rule.(*cronRule).expr
		loc := tr.Location()

		got := Preview(tr, nil, time.Time{}, 25)
		for i, f := range got {
			if i == 0 && f.Before(start) {
				t.Fatalf("first fire %v before start %v", f, start)
			}
			if i > 0 && !f.After(got[i-1]) {
				t.Fatalf("fires not increasing: %v then %v", got[i-1], f)
			}
			if f.Nanosecond() != 0 {
				t.Fatalf("fire %v is not on a whole second", f)
			}
			if stableOffset(loc, f, 48*time.Hour) && !c.matchesWall(wallOf(loc, f)) {
				t.Fatalf("fire %v (%s) does not match %q", f, FormatLocal(f, loc), expr)
			}
		}
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if b.Sub(a) > 3*time.Hour || !stableOffset(loc, a, 48*time.Hour) || !stableOffset(loc, b, 48*time.Hour) {
				continue
			}
			for w := wallOf(loc, a) + 1; w < wallOf(loc, b); w++ {
				if c.matchesWall(w) {
					t.Fatalf("%q: wall second %v between fires %v and %v matches", expr, time.Unix(w, 0).UTC(), a, b)
				}
			}
		}
	})
}

func drawIntervalSpec(t *rapid.T) Spec {
	start := drawStart(t).Add(time.Duration(rapid.IntRange(0, 999).Draw(t, "ms")) * time.Millisecond)
	zone := rapid.SampledFrom(propertyZones).Draw(t, "zone")
	switch rapid.IntRange(0, 2).Draw(t, "kind") {
	case 0:
		return Spec{Kind: KindSimple, StartAt: &start,
			Interval:    Interval{Duration: time.Duration(rapid.Int64Range(1, 3*86400_000).Draw(t, "ms-interval")) * time.Millisecond},
			RepeatCount: ptr(rapid.Int64Range(-1, 30).Draw(t, "repeat"))}
	case 1:
		unit := rapid.SampledFrom([]string{"second", "minute", "hour"}).Draw(t, "unit")
		limit := map[string]int64{"second": 86400, "minute": 1440, "hour": 24}[unit]
		from := rapid.IntRange(0, 22*3600).Draw(t, "from")
		to := rapid.IntRange(from+1, 86399).Draw(t, "to")
		return Spec{Kind: KindDailyTimeInterval, StartAt: &start, TimeZone: zone, Unit: unit,
			Interval:       Interval{Count: rapid.Int64Range(1, limit).Draw(t, "count"), IsCount: true},
			StartTimeOfDay: formatTimeOfDay(from), EndTimeOfDay: formatTimeOfDay(to),
			DaysOfWeek: rapid.SliceOfNDistinct(rapid.SampledFrom(weekDays), 1, 7, rapid.ID[string]).Draw(t, "days")}
	default:
		unit := rapid.SampledFrom(intervalUnits).Draw(t, "unit")
		long := unit != "second" && unit != "minute" && unit != "hour"
		preserve := long && rapid.Bool().Draw(t, "preserve")
		return Spec{Kind: KindCalendarInterval, StartAt: &start, TimeZone: zone, Unit: unit,
			Interval:                   Interval{Count: rapid.Int64Range(1, 50).Draw(t, "count"), IsCount: true},
			PreserveHourOfDayAcrossDST: preserve, SkipDayIfHourDoesNotExist: preserve && rapid.Bool().Draw(t, "skip")}
	}
}

// Interval triggers fire at strictly increasing times, never before their
// start, and a state machine walk (Initial, Fired) agrees with Preview.
func TestPropertyIntervalTriggersIncrease(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := drawIntervalSpec(t)
		tr, err := Compile(spec)
		if err != nil {
			t.Fatalf("generated %+v: %v", spec, err)
		}
		got := Preview(tr, nil, time.Time{}, 30)
		if len(got) == 0 {
			t.Fatalf("no fires for %+v", spec)
		}
		for i, f := range got {
			if f.Before(spec.StartAt.Truncate(time.Millisecond)) {
				t.Fatalf("fire %v before start", f)
			}
			if i > 0 && !f.After(got[i-1]) {
				t.Fatalf("fires not increasing: %v then %v (%+v)", got[i-1], f, spec)
			}
		}
		if spec.RepeatCount != nil && *spec.RepeatCount >= 0 && *spec.RepeatCount < 29 {
			if int64(len(got)) != *spec.RepeatCount+1 {
				t.Fatalf("%d fires for repeat_count %d", len(got), *spec.RepeatCount)
			}
		}
	})
}

func drawCalendar(t *rapid.T) Calendar {
	zone := rapid.SampledFrom(propertyZones).Draw(t, "cal-zone")
	var spec CalendarSpec
	switch rapid.IntRange(0, 4).Draw(t, "cal-kind") {
	case 0:
		spec = CalendarSpec{Kind: CalendarWeekly, Days: rapid.SliceOfNDistinct(rapid.SampledFrom(weekDays), 1, 5, rapid.ID[string]).Draw(t, "wdays")}
	case 1:
		spec = CalendarSpec{Kind: CalendarMonthly, DaysOfMonth: rapid.SliceOfNDistinct(rapid.IntRange(1, 31), 1, 20, rapid.ID[int]).Draw(t, "mdays")}
	case 2:
		from := rapid.IntRange(0, 86000).Draw(t, "range-from")
		to := rapid.IntRange(from+1, 86399).Draw(t, "range-to")
		spec = CalendarSpec{Kind: CalendarDaily, RangeStart: formatTimeOfDay(from), RangeEnd: formatTimeOfDay(to), Invert: rapid.Bool().Draw(t, "invert")}
	case 3:
		spec = CalendarSpec{Kind: CalendarCron, Cron: rapid.SampledFrom([]string{"* * 9-17 ? * MON-FRI", "* */2 * * * ?", "* * * L * ?", "0-29 * * * * ?"}).Draw(t, "cal-cron")}
	default:
		spec = CalendarSpec{Kind: CalendarAnnual, Days: []string{"01-01", "02-29", "07-04", "12-24", "12-25", "12-31"}}
	}
	spec.Name, spec.TimeZone = "cal", zone
	cal, err := CompileCalendar(spec, nil)
	if err != nil {
		t.Fatalf("generated %+v: %v", spec, err)
	}
	return cal
}

// NextIncluded is exact: it is later than t, included, and every sampled
// instant between them is excluded.
func TestPropertyCalendarNextIncluded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cal := drawCalendar(t)
		from := drawStart(t).Add(time.Duration(rapid.IntRange(0, 999).Draw(t, "ms")) * time.Millisecond)
		next := cal.NextIncluded(from)
		if next.IsZero() {
			t.Fatalf("no included time after %v", from)
		}
		if !next.After(from) || !cal.Included(next) {
			t.Fatalf("NextIncluded(%v) = %v: not after or not included", from, next)
		}
		gap := next.Sub(from)
		for range 40 {
			d := time.Duration(rapid.Int64Range(1, int64(gap)).Draw(t, "probe")).Truncate(time.Millisecond)
			if p := from.Add(d).Truncate(time.Millisecond); p.After(from) && p.Before(next) && cal.Included(p) {
				t.Fatalf("%v is included between %v and NextIncluded %v", p, from, next)
			}
		}
	})
}

// A trigger with a calendar fires exactly at the fires of the same trigger
// without it that the calendar includes, as Quartz's fire-by-fire walk
// would find them.
func TestPropertyCalendarSkipMatchesWalk(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cal := drawCalendar(t)
		var spec Spec
		if rapid.Bool().Draw(t, "cron") {
			start := drawStart(t)
			spec = Spec{Kind: KindCron, Cron: rapid.SampledFrom([]string{"0 */7 * * * ?", "0 0 * * * ?", "30 15 10 ? * *", "0 0/20 8-18 ? * MON-FRI"}).Draw(t, "expr"),
				TimeZone: rapid.SampledFrom(propertyZones).Draw(t, "zone"), StartAt: &start}
		} else {
			spec = drawIntervalSpec(t)
		}
		tr, err := Compile(spec)
		require.NoError(t, err)

		var want []time.Time
		for _, f := range Preview(tr, nil, time.Time{}, 400) {
			if cal.Included(f) {
				want = append(want, f)
			}
			if len(want) == 10 {
				break
			}
		}
		got := Preview(tr, cal, time.Time{}, len(want))
		if len(want) < 10 {
			got = got[:min(len(got), len(want))] // the walk above was cut short
		}
		if !equalTimes(got, want) {
			t.Fatalf("with calendar %v\nwalk %v", utc(got), utc(want))
		}
	})
}

func equalTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
