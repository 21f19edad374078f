package scheduler

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // every server must know every zone, whatever its OS ships
	"unicode"
)

// Compile validates a spec and returns the trigger it describes. Errors are
// *FieldError values naming the field.
func Compile(spec Spec) (Trigger, error) {
	s := cloneSpec(spec)
	loc, err := normalizeCommon(&s)
	if err != nil {
		return nil, err
	}
	if err := checkUnused(&s); err != nil {
		return nil, err
	}

	tr := &trigger{loc: loc}
	switch s.Kind {
	case KindCron:
		err = compileCron(&s, tr)
	case KindSimple:
		err = compileSimple(&s, tr)
	case KindDailyTimeInterval:
		err = compileDaily(&s, tr)
	case KindCalendarInterval:
		err = compileCalendarInterval(&s, tr)
	}
	if err != nil {
		return nil, err
	}
	tr.spec = s
	return tr, nil
}

var kinds = []string{KindCron, KindSimple, KindDailyTimeInterval, KindCalendarInterval}

// normalizeCommon checks and defaults the fields every kind shares.
func normalizeCommon(s *Spec) (*time.Location, error) {
	if s.Kind == "" {
		return nil, fieldErr("kind", "is required: one of %s", strings.Join(kinds, ", "))
	}
	if !slices.Contains(kinds, s.Kind) {
		return nil, fieldErr("kind", "%q is not one of %s", s.Kind, strings.Join(kinds, ", "))
	}

	loc, err := LoadZone(s.TimeZone)
	if err != nil {
		return nil, err
	}
	if s.TimeZone == "" {
		s.TimeZone = "UTC"
	}

	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"start_at", s.StartAt}, {"end_at", s.EndAt}} {
		if f.t != nil && (f.t.Year() < MinCronYear || f.t.Year() > MaxCronYear) {
			return nil, fieldErr(f.name, "%s is outside the years %d-%d", f.t.Format(time.RFC3339), MinCronYear, MaxCronYear)
		}
	}
	if s.StartAt != nil && s.EndAt != nil && s.EndAt.Before(*s.StartAt) {
		return nil, fieldErr("end_at", "must not be before start_at")
	}

	if s.Priority == 0 {
		s.Priority = DefaultPriority
	}
	if err := checkCalendarName("calendar", s.Calendar); err != nil {
		return nil, err
	}

	valid := MisfireInstructions(s.Kind)
	switch {
	case s.Misfire == "" && s.Kind == KindSimple:
		s.Misfire = MisfireSmartPolicy
	case s.Misfire == "":
		s.Misfire = MisfireFireOnceNow
	case !slices.Contains(valid, s.Misfire):
		return nil, fieldErr("misfire", "%q is not a misfire instruction of %s triggers: %s", s.Misfire, s.Kind, strings.Join(valid, ", "))
	}
	return loc, nil
}

// checkUnused rejects fields the kind does not use, so that a typo in the
// kind or a misplaced field is reported instead of silently ignored.
func checkUnused(s *Spec) error {
	used := map[string][]string{
		KindCron:              {"cron"},
		KindSimple:            {"interval", "repeat_count"},
		KindDailyTimeInterval: {"interval", "unit", "repeat_count", "days_of_week", "start_time_of_day", "end_time_of_day"},
		KindCalendarInterval:  {"interval", "unit", "preserve_hour_of_day_across_dst", "skip_day_if_hour_does_not_exist"},
	}[s.Kind]
	present := []struct {
		name string
		set  bool
	}{
		{"cron", s.Cron != ""},
		{"interval", !s.Interval.IsZero()},
		{"unit", s.Unit != ""},
		{"repeat_count", s.RepeatCount != nil},
		{"days_of_week", len(s.DaysOfWeek) > 0},
		{"start_time_of_day", s.StartTimeOfDay != ""},
		{"end_time_of_day", s.EndTimeOfDay != ""},
		{"preserve_hour_of_day_across_dst", s.PreserveHourOfDayAcrossDST},
		{"skip_day_if_hour_does_not_exist", s.SkipDayIfHourDoesNotExist},
	}
	for _, p := range present {
		if p.set && !slices.Contains(used, p.name) {
			return fieldErr(p.name, "is not used by %s triggers", s.Kind)
		}
	}
	return nil
}

func compileCron(s *Spec, tr *trigger) error {
	if strings.TrimSpace(s.Cron) == "" {
		return fieldErr("cron", "is required for cron triggers, for example \"0 0 2 * * ?\" (seconds first)")
	}
	expr, err := parseCron(s.Cron)
	if err != nil {
		return err
	}
	s.Cron = expr.text
	tr.rule = &cronRule{expr: expr, loc: zoneOf(tr.loc), end: s.EndAt}
	return nil
}

func compileSimple(s *Spec, tr *trigger) error {
	if s.Interval.IsCount {
		return fieldErr("interval", "must be a duration string such as \"10s\" or \"1500ms\" for simple triggers")
	}
	repeat, err := normalizeRepeat(s)
	if err != nil {
		return err
	}
	d := s.Interval.Duration
	switch {
	case d < 0:
		return fieldErr("interval", "must not be negative")
	case d%time.Millisecond != 0:
		return fieldErr("interval", "%s is not a whole number of milliseconds", d)
	case d == 0 && repeat != 0:
		return fieldErr("interval", "is required: a positive duration such as \"1m\" (only a one-shot trigger, \"repeat_count\": 0, may omit it)")
	}
	tr.repeatCount = repeat
	tr.rule = &simpleRule{interval: d, end: s.EndAt}
	return nil
}

// normalizeRepeat defaults repeat_count to -1 (forever) and checks it.
// Quartz's builders default it to 0; an interval trigger that fires once is
// never what a user means, so swarm repeats forever unless told otherwise.
func normalizeRepeat(s *Spec) (int64, error) {
	if s.RepeatCount == nil {
		n := int64(-1)
		s.RepeatCount = &n
	}
	n := *s.RepeatCount
	if n < -1 || n > math.MaxInt32 {
		return 0, fieldErr("repeat_count", "%d is out of range: -1 (forever) or 0..%d", n, math.MaxInt32)
	}
	return n, nil
}

// intervalUnits are the unit names, in the order of Quartz's IntervalUnit;
// daily_time_interval takes the first three.
var intervalUnits = []string{"second", "minute", "hour", "day", "week", "month", "year"}

// intervalCount checks the integer "interval" of the kinds with a unit.
func intervalCount(s *Spec, defaultUnit string, units []string) (int64, string, error) {
	if s.Unit == "" {
		s.Unit = defaultUnit
	}
	if !slices.Contains(units, s.Unit) {
		return 0, "", fieldErr("unit", "%q is not one of %s", s.Unit, strings.Join(units, ", "))
	}
	if s.Interval.IsZero() {
		s.Interval = Interval{Count: 1, IsCount: true}
	}
	if !s.Interval.IsCount {
		return 0, "", fieldErr("interval", "must be a whole number counted in unit, for example \"interval\": 15, \"unit\": \"minute\"")
	}
	if s.Interval.Count < 1 || s.Interval.Count > math.MaxInt32 {
		return 0, "", fieldErr("interval", "%d is out of range 1..%d", s.Interval.Count, math.MaxInt32)
	}
	return s.Interval.Count, s.Unit, nil
}

var (
	zoneMu    sync.RWMutex
	zoneCache = map[string]*time.Location{}
)

// LoadZone resolves an IANA time zone name ("" means UTC). "Local" is
// refused: every server must compute the same instants. Errors are
// *FieldError values for "time_zone".
//
// TODO: time.LoadLocation prefers the OS's zone files to the embedded
// copy, so servers whose OS zone data differ can compute different instants
// for a zone whose rules changed between the two versions (after a leader
// change). Loading from one shipped copy (LoadLocationFromTZData) would fix it.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" || strings.TrimSpace(name) != name {
		return nil, fieldErr("time_zone", "%q is not an IANA zone name such as \"Europe/Berlin\"", name)
	}
	zoneMu.RLock()
	loc := zoneCache[name]
	zoneMu.RUnlock()
	if loc != nil {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fieldErr("time_zone", "%q is not an IANA zone name such as \"Europe/Berlin\"", name)
	}
	zoneMu.Lock()
	zoneCache[name] = loc
	zoneMu.Unlock()
	return loc, nil
}

func checkCalendarName(field, name string) error {
	if len(name) > 200 {
		return fieldErr(field, "is longer than 200 characters")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fieldErr(field, "%q contains a control character", name)
		}
	}
	if strings.TrimSpace(name) != name {
		return fieldErr(field, "%q has leading or trailing spaces", name)
	}
	return nil
}

// parseTimeOfDay parses "HH:MM" or "HH:MM:SS" into seconds of the day.
func parseTimeOfDay(field, s string) (int, error) {
	bad := fieldErr(field, "%q is not a time of day HH:MM:SS (00:00:00 to 23:59:59)", s)
	if len(s) != 5 && len(s) != 8 {
		return 0, bad
	}
	var parts [3]int
	for i := 0; i*3 < len(s); i++ {
		a, b := s[i*3], s[i*3+1]
		if a < '0' || a > '9' || b < '0' || b > '9' || (i*3+2 < len(s) && s[i*3+2] != ':') {
			return 0, bad
		}
		parts[i] = int(a-'0')*10 + int(b-'0')
	}
	if parts[0] > 23 || parts[1] > 59 || parts[2] > 59 {
		return 0, bad
	}
	return parts[0]*3600 + parts[1]*60 + parts[2], nil
}

func formatTimeOfDay(sec int) string {
	return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
}
