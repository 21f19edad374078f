package quartzdiff

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmsched/swarm/scheduler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fires per trigger, and triggers per kind.
const (
	fireCount   = 20
	cronCases   = 400
	simpleCases = 100
	dailyCases  = 150
	calCases    = 150
)

// jars are the class path candidates: Debian's libquartz2-java and slf4j.
var jars = []string{"/usr/share/java/quartz2.jar", "/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-nop.jar"}

// zones mixes zones without DST, with one-hour DST on either hemisphere,
// with half-hour DST (Lord Howe) and with a skipped day (Apia, 2011).
var zones = []string{
	"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
	"America/Sao_Paulo", "Pacific/Apia", "Australia/Sydney", "Europe/London",
}

type testCase struct {
	line string // the harness input
	spec scheduler.Spec
	// dstFree: compare only fires away from DST transitions (cron).
	dstFree bool
	// cal is an exclusion calendar for the trigger, or nil.
	cal *scheduler.CalendarSpec
}

func TestAgainstQuartz(t *testing.T) {
	classpath := buildHarness(t)
	r := rand.New(rand.NewPCG(20260308, 7))

	var cases []testCase
	for range cronCases {
		cases = append(cases, randomCron(r))
	}
	for range simpleCases {
		cases = append(cases, randomSimple(r))
	}
	for range dailyCases {
		cases = append(cases, randomDaily(r))
	}
	for range calCases {
		cases = append(cases, randomCalendar(r))
	}
	cases = append(cases, fixedCases()...)
	for i := range cases {
		if i%3 == 0 && atMostOncePerMinute(cases[i].spec) {
			withCalendar(r, &cases[i])
		}
	}

	outputs := runHarness(t, classpath, cases)
	require.Len(t, outputs, len(cases))

	failures, compared := 0, map[string]int{}
	for i, c := range cases {
		msg, n := compare(c, outputs[i])
		compared[c.spec.Kind] += n
		if c.cal != nil {
			compared["with calendar"] += n
		}
		if msg != "" {
			failures++
			t.Errorf("case %d: %s\n  input: %s\n%s", i, c.spec.Kind, c.line, msg)
			if failures > 15 {
				t.Fatal("too many differences")
			}
		}
	}
	t.Logf("fire times compared: %v", compared)
	// Guard against a vacuous comparison (everything filtered away).
	require.Greater(t, compared[scheduler.KindCron], cronCases*fireCount/2)
	require.Greater(t, compared[scheduler.KindSimple], simpleCases*fireCount/2)
	require.Greater(t, compared[scheduler.KindDailyTimeInterval], dailyCases*fireCount/2)
	require.Greater(t, compared[scheduler.KindCalendarInterval], calCases*fireCount/2)
	require.Greater(t, compared["with calendar"], 1500)
}

// buildHarness compiles QuartzDiff.java into a temporary directory and
// returns the class path, or skips the test when Java or Quartz is missing.
func buildHarness(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: install a JDK to compare with Quartz", tool)
		}
	}
	if _, err := os.Stat(jars[0]); err != nil {
		t.Skipf("%s not found: run scripts/install-quartz.sh (Debian libquartz2-java) to compare with Quartz", jars[0])
	}
	dir := t.TempDir()
	cp := []string{dir}
	for _, j := range jars {
		if _, err := os.Stat(j); err == nil {
			cp = append(cp, j)
		}
	}
	classpath := strings.Join(cp, string(os.PathListSeparator))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "javac", "-cp", classpath, "-d", dir, "QuartzDiff.java").CombinedOutput()
	require.NoError(t, err, "javac: %s", out)
	return classpath
}

func runHarness(t *testing.T, classpath string, cases []testCase) []string {
	t.Helper()
	var in bytes.Buffer
	for _, c := range cases {
		in.WriteString(c.line + "\n")
	}
	if path := os.Getenv("QUARTZDIFF_INPUT"); path != "" {
		require.NoError(t, os.WriteFile(path, in.Bytes(), 0o644)) // to rerun the harness by hand
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-cp", classpath, "QuartzDiff")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "java: %s", stderr.String())
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// compare returns a description of the difference, or "", and the number
// of fire times compared.
func compare(c testCase, output string) (string, int) {
	if strings.HasPrefix(output, "ERR java.lang.IllegalStateException: budget") {
		return "", 0 // Quartz's walk over excluded times was too long to wait for
	}
	if strings.HasPrefix(output, "ERR") {
		return "quartz: " + output, 0
	}
	var want []time.Time
	for _, f := range strings.Fields(output) {
		ms, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return "bad harness output " + output, 0
		}
		want = append(want, time.UnixMilli(ms).UTC())
	}

	trig, err := scheduler.Compile(c.spec)
	if err != nil {
		return "compile: " + err.Error(), 0
	}
	var cal scheduler.Calendar
	if c.cal != nil {
		if cal, err = scheduler.CompileCalendar(*c.cal, nil); err != nil {
			return "calendar: " + err.Error(), 0
		}
	}
	got := scheduler.Preview(trig, cal, time.Time{}, fireCount)
	if c.cal != nil && c.cal.Kind == scheduler.CalendarDaily && !c.cal.Invert {
		// Quartz 2.3's DailyCalendar also excludes the first and the last
		// millisecond of every day; swarm does not.
		calLoc, _ := scheduler.LoadZone(c.cal.TimeZone)
		got, want = dropEdgesOfDay(calLoc, got, want)
	}

	if c.spec.Kind == scheduler.KindDailyTimeInterval && c.spec.EndAt != nil {
		// Quartz 2.3 can fire once past end_at on the same day; swarm does not.
		want = until(want, *c.spec.EndAt)
	}
	if c.dstFree {
		got, want = awayFromDST(trig.Location(), got, want)
	}
	if equalTimes(got, want) {
		return "", len(got)
	}
	return fmt.Sprintf("  swarm:  %s\n  quartz: %s", show(got, trig.Location()), show(want, trig.Location())), 0
}

func dropEdgesOfDay(loc *time.Location, got, want []time.Time) ([]time.Time, []time.Time) {
	got, want = cutAtShorter(got, want)
	var out []time.Time
	for _, t := range got {
		h, m, s := t.In(loc).Clock()
		ms := t.Nanosecond() / 1e6
		if (h == 0 && m == 0 && s == 0 && ms == 0) || (h == 23 && m == 59 && s == 59 && ms == 999) {
			continue
		}
		out = append(out, t)
	}
	return out, want
}

// cutAtShorter cuts two full lists of fires at the earlier of their last
// fires, so that an extra fire in one does not shift the comparison.
func cutAtShorter(a, b []time.Time) ([]time.Time, []time.Time) {
	if len(a) < fireCount || len(b) < fireCount {
		return a, b
	}
	cut := minTime(a[len(a)-1], b[len(b)-1])
	return until(a, cut), until(b, cut)
}

func until(ts []time.Time, end time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		if !t.After(end) {
			out = append(out, t)
		}
	}
	return out
}

// awayFromDST drops the fires within 26 hours of a UTC offset change from
// both lists and cuts both at the end of the shorter full list.
func awayFromDST(loc *time.Location, a, b []time.Time) ([]time.Time, []time.Time) {
	cut := time.Unix(1<<62, 0)
	if len(a) == fireCount && len(b) == fireCount {
		cut = minTime(a[len(a)-1], b[len(b)-1])
	} else if len(a) == fireCount {
		cut = a[len(a)-1]
	} else if len(b) == fireCount {
		cut = b[len(b)-1]
	}
	keep := func(ts []time.Time) []time.Time {
		var out []time.Time
		for _, t := range ts {
			if !t.After(cut) && !nearTransition(loc, t, 26*time.Hour) {
				out = append(out, t)
			}
		}
		return out
	}
	return keep(a), keep(b)
}

func nearTransition(loc *time.Location, t time.Time, d time.Duration) bool {
	_, o1 := t.Add(-d).In(loc).Zone()
	_, o2 := t.Add(d).In(loc).Zone()
	if o1 != o2 {
		return true
	}
	start, end := t.In(loc).ZoneBounds()
	return (!start.IsZero() && t.Sub(start) < d) || (!end.IsZero() && end.Sub(t) < d)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
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

func show(ts []time.Time, loc *time.Location) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, t.In(loc).Format("2006-01-02T15:04:05.000Z07:00"))
	}
	return strings.Join(parts, " ")
}

// randomStart is a start between 2005 and 2034: Java's zone tables end in
// 2037, and Quartz 2.3's cron year limit is the current year plus 100.
func randomStart(r *rand.Rand, millis bool) time.Time {
	lo := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	t := time.Unix(lo+r.Int64N(hi-lo), 0).UTC()
	if r.IntN(4) == 0 {
		t = t.Truncate(time.Hour) // exact hours hit more edges
	}
	if millis {
		t = t.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	}
	return t
}

func randomEnd(r *rand.Rand, start time.Time, span time.Duration) *time.Time {
	if r.IntN(4) != 0 {
		return nil
	}
	e := start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second)
	if e.Before(start) {
		e = start
	}
	return &e
}

func endField(e *time.Time) string {
	if e == nil {
		return "-"
	}
	return strconv.FormatInt(e.UnixMilli(), 10)
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// cronPart renders one random item of a numeric field with bounds lo..hi.
func cronPart(r *rand.Rand, lo, hi int, names []string) string {
	val := func() string {
		v := lo + r.IntN(hi-lo+1)
		if names != nil && r.IntN(3) == 0 {
			return names[v-lo]
		}
		return strconv.Itoa(v)
	}
	num := func() int { return lo + r.IntN(hi-lo+1) }
	switch r.IntN(9) {
	case 0:
		return "*"
	case 1, 2:
		return val()
	case 3:
		return fmt.Sprintf("%s,%s,%s", val(), val(), val())
	case 4:
		a, b := num(), num() // may wrap around
		if names != nil && r.IntN(2) == 0 {
			return names[a-lo] + "-" + names[b-lo]
		}
		return fmt.Sprintf("%d-%d", a, b)
	case 5:
		return fmt.Sprintf("*/%d", 1+r.IntN(max(1, (hi-lo)/2)))
	case 6:
		return fmt.Sprintf("%d/%d", num(), 1+r.IntN(max(1, (hi-lo)/2)))
	case 7:
		return fmt.Sprintf("%d-%d/%d", num(), num(), 1+r.IntN(max(1, (hi-lo)/3)))
	default:
		return fmt.Sprintf("%d,%d-%d", num(), num(), num())
	}
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

func randomCronExpr(r *rand.Rand) string {
	sec := pick(r, "0", "0", "*/15", "30", cronPart(r, 0, 59, nil))
	min := pick(r, "0", "*/5", cronPart(r, 0, 59, nil))
	hour := cronPart(r, 0, 23, nil)
	month := pick(r, "*", "*", cronPart(r, 1, 12, monthNames))
	dom, dow := "?", "?"
	if r.IntN(2) == 0 {
		dom = pick(r, "*", cronPart(r, 1, 31, nil), "L", fmt.Sprintf("L-%d", r.IntN(10)), "LW",
			fmt.Sprintf("%dW", 1+r.IntN(28)), fmt.Sprintf("L-%dW", r.IntN(5)), "1/5", "15")
	} else {
		d := 1 + r.IntN(7)
		dow = pick(r, "*", cronPart(r, 1, 7, dayNames), fmt.Sprintf("%dL", d), fmt.Sprintf("%d#%d", d, 1+r.IntN(5)),
			dayNames[d-1]+"#2", dayNames[d-1]+"L", "MON-FRI", "L")
	}
	expr := strings.Join([]string{sec, min, hour, dom, month, dow}, " ")
	if r.IntN(8) == 0 {
		y := 2005 + r.IntN(40)
		expr += pick(r, " *", fmt.Sprintf(" %d-%d", y, y+r.IntN(30)), fmt.Sprintf(" %d/%d", y, 1+r.IntN(3)))
	}
	return expr
}

func randomCron(r *rand.Rand) testCase {
	zone := pick(r, zones...)
	start := randomStart(r, false)
	expr := randomCronExpr(r)
	end := randomEnd(r, start, 400*24*time.Hour)
	spec := scheduler.Spec{Kind: scheduler.KindCron, Cron: expr, TimeZone: zone, StartAt: &start, EndAt: end}
	line := fmt.Sprintf("cron %s %d %s %d %s", zone, start.UnixMilli(), endField(end), fireCount, expr)
	return testCase{line: line, spec: spec, dstFree: zone != "UTC" && zone != "Asia/Kolkata"}
}

func randomSimple(r *rand.Rand) testCase {
	start := randomStart(r, true)
	interval := time.Duration(1+r.Int64N(pick(r, int64(5000), 3_600_000, 86_400_000*3))) * time.Millisecond
	repeat := int64(pick(r, -1, -1, 0, 1, 5, 30))
	end := randomEnd(r, start, 25*interval)
	spec := scheduler.Spec{Kind: scheduler.KindSimple, Interval: scheduler.Interval{Duration: interval},
		RepeatCount: &repeat, StartAt: &start, EndAt: end}
	line := fmt.Sprintf("simple %d %s %d %d %d", start.UnixMilli(), endField(end), fireCount, interval.Milliseconds(), repeat)
	return testCase{line: line, spec: spec}
}

func randomDaily(r *rand.Rand) testCase {
	zone := pick(r, zones...)
	start := randomStart(r, false)
	unit := pick(r, "SECOND", "MINUTE", "MINUTE", "HOUR")
	limit := map[string]int{"SECOND": 7200, "MINUTE": 300, "HOUR": 12}[unit]
	interval := 1 + r.IntN(limit)
	repeat := int64(pick(r, -1, -1, -1, 3, 10, 40))
	sTOD := r.IntN(20 * 3600)
	eTOD := sTOD + 1 + r.IntN(86399-sTOD)
	if r.IntN(3) == 0 {
		sTOD, eTOD = sTOD/3600*3600, 86399 // whole hours, default end
	}
	var days, names []string
	for d := 1; d <= 7; d++ {
		if r.IntN(3) != 0 {
			days = append(days, strconv.Itoa(d))
			names = append(names, dayNames[d-1])
		}
	}
	if len(days) == 0 {
		days, names = []string{"2"}, []string{"MON"}
	}
	end := randomEnd(r, start, 30*24*time.Hour)
	spec := scheduler.Spec{
		Kind: scheduler.KindDailyTimeInterval, TimeZone: zone, StartAt: &start, EndAt: end,
		Interval: scheduler.Interval{Count: int64(interval), IsCount: true}, Unit: strings.ToLower(unit),
		RepeatCount: &repeat, DaysOfWeek: names, StartTimeOfDay: tod(sTOD), EndTimeOfDay: tod(eTOD),
	}
	line := fmt.Sprintf("daily %s %d %s %d %d %s %d %s %s %s", zone, start.UnixMilli(), endField(end), fireCount,
		interval, unit, repeat, tod(sTOD), tod(eTOD), strings.Join(days, ","))
	return testCase{line: line, spec: spec}
}

func tod(s int) string { return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60) }

func randomCalendar(r *rand.Rand) testCase {
	zone := pick(r, zones...)
	start := randomStart(r, r.IntN(2) == 0)
	unit := pick(r, "SECOND", "MINUTE", "HOUR", "DAY", "DAY", "DAY", "WEEK", "MONTH", "MONTH", "YEAR")
	limit := map[string]int{"SECOND": 100000, "MINUTE": 3000, "HOUR": 100, "DAY": 40, "WEEK": 10, "MONTH": 14, "YEAR": 3}[unit]
	interval := 1 + r.IntN(limit)
	if r.IntN(2) == 0 {
		interval = 1
	}
	long := unit == "DAY" || unit == "WEEK" || unit == "MONTH" || unit == "YEAR"
	preserve := long && r.IntN(2) == 0
	skip := preserve && r.IntN(2) == 0
	if long && r.IntN(2) == 0 {
		// Start inside the small hours of the day, where DST happens.
		start = start.Truncate(24 * time.Hour).Add(time.Duration(r.IntN(4*3600)) * time.Second)
		if loc, _ := scheduler.LoadZone(zone); loc != nil {
			_, off := start.In(loc).Zone()
			start = start.Add(-time.Duration(off) * time.Second)
		}
	}
	end := randomEnd(r, start, 300*24*time.Hour)
	spec := scheduler.Spec{
		Kind: scheduler.KindCalendarInterval, TimeZone: zone, StartAt: &start, EndAt: end,
		Interval: scheduler.Interval{Count: int64(interval), IsCount: true}, Unit: strings.ToLower(unit),
		PreserveHourOfDayAcrossDST: preserve, SkipDayIfHourDoesNotExist: skip,
	}
	line := fmt.Sprintf("calendar %s %d %s %d %d %s %s %s", zone, start.UnixMilli(), endField(end), fireCount,
		interval, unit, b01(preserve), b01(skip))
	return testCase{line: line, spec: spec}
}

// atMostOncePerMinute keeps Quartz's fire-by-fire walk over excluded
// stretches (up to days) short enough for a test.
func atMostOncePerMinute(s scheduler.Spec) bool {
	switch s.Kind {
	case scheduler.KindCron:
		return !strings.ContainsAny(strings.Fields(s.Cron)[0], "*,-/")
	case scheduler.KindSimple:
		return s.Interval.Duration >= time.Minute
	case scheduler.KindDailyTimeInterval:
		return s.Unit != "second" || s.Interval.Count >= 60
	default:
		return s.Unit != "second" || s.Interval.Count >= 60
	}
}

// withCalendar adds a random exclusion calendar to a case, in the
// trigger's zone or in UTC, with exclusions near the trigger's start.
func withCalendar(r *rand.Rand, c *testCase) {
	zone := "UTC"
	if c.spec.TimeZone != "" && r.IntN(2) == 0 {
		zone = c.spec.TimeZone
	}
	start := *c.spec.StartAt
	spec := scheduler.CalendarSpec{Name: "cal", TimeZone: zone}
	var java string
	switch r.IntN(6) {
	case 0:
		spec.Kind = scheduler.CalendarHoliday
		for range 1 + r.IntN(8) {
			spec.Dates = append(spec.Dates, start.AddDate(0, 0, r.IntN(40)).Format("2006-01-02"))
		}
		java = strings.Join(spec.Dates, ",")
	case 1:
		spec.Kind = scheduler.CalendarAnnual
		for range 1 + r.IntN(10) {
			spec.Days = append(spec.Days, start.AddDate(0, 0, r.IntN(60)).Format("01-02"))
		}
		java = strings.Join(spec.Days, ",")
	case 2:
		spec.Kind = scheduler.CalendarMonthly
		var days []string
		for range 1 + r.IntN(10) {
			d := 1 + r.IntN(31)
			spec.DaysOfMonth = append(spec.DaysOfMonth, d)
			days = append(days, strconv.Itoa(d))
		}
		java = strings.Join(days, ",")
	case 3:
		spec.Kind = scheduler.CalendarWeekly
		var days []string
		for range 1 + r.IntN(3) {
			d := 1 + r.IntN(7)
			spec.Days = append(spec.Days, dayNames[d-1])
			days = append(days, strconv.Itoa(d))
		}
		java = strings.Join(days, ",")
	case 4:
		spec.Kind = scheduler.CalendarDaily
		from := r.IntN(20 * 3600)
		to := from + 1 + r.IntN(86399-from)
		spec.RangeStart, spec.RangeEnd, spec.Invert = tod(from), tod(to), r.IntN(3) == 0
		java = fmt.Sprintf("%s %s %s", spec.RangeStart, spec.RangeEnd, b01(spec.Invert))
	default:
		spec.Kind = scheduler.CalendarCron
		spec.Cron = pick(r, "* * 9-17 ? * MON-FRI", "* 0-29 * * * ?", "* * * L * ?", "0-29 * * * * ?", "* * 0-5 * * ?", "* * * ? * SAT,SUN")
		java = spec.Cron
	}
	c.cal = &spec
	c.line += fmt.Sprintf(" @cal %s %s %s", spec.Kind, zone, java)
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fixedCases pin the DST paths of the interval triggers: New York's spring
// forward (2026-03-08) and fall back (2026-11-01), Lord Howe's half hour.
func fixedCases() []testCase {
	var out []testCase
	ny := "America/New_York"
	for _, start := range []string{"2026-03-01T02:30:00-05:00", "2026-03-07T02:30:00-05:00", "2026-10-25T01:30:00-04:00", "2026-02-07T02:30:00-05:00"} {
		s, _ := time.Parse(time.RFC3339, start)
		s = s.UTC()
		for _, unit := range []string{"DAY", "WEEK", "MONTH"} {
			for _, flags := range [][2]bool{{false, false}, {true, false}, {true, true}} {
				spec := scheduler.Spec{Kind: scheduler.KindCalendarInterval, TimeZone: ny, StartAt: &s,
					Interval: scheduler.Interval{Count: 1, IsCount: true}, Unit: strings.ToLower(unit),
					PreserveHourOfDayAcrossDST: flags[0], SkipDayIfHourDoesNotExist: flags[1]}
				line := fmt.Sprintf("calendar %s %d - %d 1 %s %s %s", ny, s.UnixMilli(), fireCount, unit, b01(flags[0]), b01(flags[1]))
				out = append(out, testCase{line: line, spec: spec})
			}
		}
	}
	for _, zone := range []string{ny, "Australia/Lord_Howe", "Europe/Berlin"} {
		for _, start := range []string{"2026-03-06T00:00:00Z", "2026-10-30T00:00:00Z", "2026-04-03T00:00:00Z", "2026-10-02T00:00:00Z", "2026-03-27T00:00:00Z"} {
			s, _ := time.Parse(time.RFC3339, start)
			for _, tods := range [][2]string{{"00:30:00", "04:00:00"}, {"02:15:00", "03:45:00"}, {"01:00:00", "23:59:59"}} {
				spec := scheduler.Spec{Kind: scheduler.KindDailyTimeInterval, TimeZone: zone, StartAt: &s,
					Interval: scheduler.Interval{Count: 45, IsCount: true}, Unit: "minute",
					StartTimeOfDay: tods[0], EndTimeOfDay: tods[1]}
				line := fmt.Sprintf("daily %s %d - %d 45 MINUTE -1 %s %s 1,2,3,4,5,6,7", zone, s.UnixMilli(), fireCount, tods[0], tods[1])
				out = append(out, testCase{line: line, spec: spec})
			}
		}
	}
	return out
}
