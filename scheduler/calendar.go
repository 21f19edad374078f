package scheduler

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Calendar kinds, as they appear in the "kind" field of a calendar.
const (
	CalendarHoliday = "holiday" // excluded dates
	CalendarAnnual  = "annual"  // excluded days of every year, "MM-DD"
	CalendarMonthly = "monthly" // excluded days of every month
	CalendarWeekly  = "weekly"  // excluded days of the week
	CalendarDaily   = "daily"   // an excluded (or, inverted, the only included) time range of every day
	CalendarCron    = "cron"    // excluded: the seconds whose wall-clock reading matches a cron expression
)

var calendarKinds = []string{CalendarHoliday, CalendarAnnual, CalendarMonthly, CalendarWeekly, CalendarDaily, CalendarCron}

// CalendarSpec is a named exclusion calendar as users write it in JSON.
type CalendarSpec struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // holiday, annual, monthly, weekly, daily, cron
	Description string `json:"description,omitempty"`
	TimeZone    string `json:"time_zone,omitempty"`
	Base        string `json:"base,omitempty"` // name of a base calendar

	Dates       []string `json:"dates,omitempty"`         // holiday: "2026-12-25"
	Days        []string `json:"days,omitempty"`          // annual: "12-25"; weekly: "SAT"
	DaysOfMonth []int    `json:"days_of_month,omitempty"` // monthly
	RangeStart  string   `json:"range_start,omitempty"`   // daily: "HH:MM[:SS[.mmm]]"
	RangeEnd    string   `json:"range_end,omitempty"`
	Invert      bool     `json:"invert,omitempty"` // daily
	Cron        string   `json:"cron,omitempty"`   // cron: excluded times
}

// SpecCalendar is implemented by every calendar CompileCalendar returns:
// Spec gives the normalized spec (defaults filled in, lists sorted), which
// is what the server stores and echoes.
type SpecCalendar interface {
	Calendar
	Spec() CalendarSpec
}

// CompileCalendar validates spec and builds the calendar. base resolves a
// base calendar by name; it may be nil when spec has no base. Errors are
// *FieldError values naming the field; an error of base is returned
// wrapped in a *FieldError for "base".
func CompileCalendar(spec CalendarSpec, base func(name string) (Calendar, error)) (Calendar, error) {
	s := cloneCalendarSpec(spec)
	c := &calendar{}
	loc, err := checkCalendarCommon(&s)
	if err != nil {
		return nil, err
	}
	c.loc = zoneOf(loc)
	if err := checkCalendarUnused(&s); err != nil {
		return nil, err
	}
	if c.rule, err = compileCalendarRule(&s, c.loc); err != nil {
		return nil, err
	}
	if s.Base != "" {
		if base == nil {
			return nil, fieldErr("base", "calendar %q cannot be resolved here", s.Base)
		}
		b, err := base(s.Base)
		if err != nil {
			return nil, fieldErr("base", "%v", err)
		}
		if b == nil {
			return nil, fieldErr("base", "calendar %q does not exist", s.Base)
		}
		c.base = b
	}
	c.spec = s
	return c, nil
}

func checkCalendarCommon(s *CalendarSpec) (*time.Location, error) {
	if s.Name == "" {
		return nil, fieldErr("name", "is required")
	}
	if err := checkCalendarName("name", s.Name); err != nil {
		return nil, err
	}
	if !slices.Contains(calendarKinds, s.Kind) {
		return nil, fieldErr("kind", "%q is not one of %s", s.Kind, strings.Join(calendarKinds, ", "))
	}
	if err := checkCalendarName("base", s.Base); err != nil {
		return nil, err
	}
	if s.Base == s.Name {
		return nil, fieldErr("base", "a calendar cannot be its own base")
	}
	loc, err := LoadZone(s.TimeZone)
	if err != nil {
		return nil, err
	}
	if s.TimeZone == "" {
		s.TimeZone = "UTC"
	}
	return loc, nil
}

func checkCalendarUnused(s *CalendarSpec) error {
	used := map[string][]string{
		CalendarHoliday: {"dates"},
		CalendarAnnual:  {"days"},
		CalendarMonthly: {"days_of_month"},
		CalendarWeekly:  {"days"},
		CalendarDaily:   {"range_start", "range_end", "invert"},
		CalendarCron:    {"cron"},
	}[s.Kind]
	present := []struct {
		name string
		set  bool
	}{
		{"dates", len(s.Dates) > 0},
		{"days", len(s.Days) > 0},
		{"days_of_month", len(s.DaysOfMonth) > 0},
		{"range_start", s.RangeStart != ""},
		{"range_end", s.RangeEnd != ""},
		{"invert", s.Invert},
		{"cron", s.Cron != ""},
	}
	for _, p := range present {
		if p.set && !slices.Contains(used, p.name) {
			return fieldErr(p.name, "is not used by %s calendars", s.Kind)
		}
	}
	for _, p := range present {
		if slices.Contains(used, p.name) && !p.set && p.name != "invert" {
			return fieldErr(p.name, "is required for %s calendars", s.Kind)
		}
	}
	return nil
}

func compileCalendarRule(s *CalendarSpec, loc *zone) (calendarRule, error) {
	switch s.Kind {
	case CalendarHoliday:
		return compileHoliday(s, loc)
	case CalendarAnnual:
		return compileAnnual(s, loc)
	case CalendarMonthly:
		return compileMonthly(s, loc)
	case CalendarWeekly:
		return compileWeekly(s, loc)
	case CalendarDaily:
		return compileDailyCalendar(s, loc)
	default:
		expr, err := parseCron(s.Cron)
		if err != nil {
			return nil, err
		}
		s.Cron = expr.text
		return &cronCalendar{expr: expr, loc: loc}, nil
	}
}

func compileHoliday(s *CalendarSpec, loc *zone) (calendarRule, error) {
	r := &dayCalendar{loc: loc, days: map[int64]bool{}}
	for i, d := range s.Dates {
		t, err := time.Parse("2006-01-02", d)
		if err != nil || t.Year() < MinCronYear || t.Year() > MaxCronYear {
			return nil, fieldErr(fmtIndex("dates", i), "%q is not a date YYYY-MM-DD between %d and %d", d, MinCronYear, MaxCronYear)
		}
		r.days[daysFromCivil(t.Year(), int(t.Month()), t.Day())] = true
	}
	s.Dates = sortedKeys(r.days, func(d int64) string {
		y, m, dd := civilFromDays(d)
		return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
	})
	r.excluded = func(d int64, _, _, _ int) bool { return r.days[d] }
	return r, nil
}

func compileAnnual(s *CalendarSpec, loc *zone) (calendarRule, error) {
	r := &dayCalendar{loc: loc}
	set := map[int64]bool{}
	for i, d := range s.Days {
		m, dd, ok := parseMonthDay(d)
		if !ok {
			return nil, fieldErr(fmtIndex("days", i), "%q is not a day of the year MM-DD", d)
		}
		set[int64(m*100+dd)] = true
	}
	if len(set) >= 366 {
		return nil, fieldErr("days", "excludes every day of the year: nothing would ever fire")
	}
	s.Days = sortedKeys(set, func(k int64) string { return fmt.Sprintf("%02d-%02d", k/100, k%100) })
	r.excluded = func(_ int64, _, m, d int) bool { return set[int64(m*100+d)] }
	return r, nil
}

func parseMonthDay(s string) (m, d int, ok bool) {
	if len(s) != 5 || s[2] != '-' {
		return 0, 0, false
	}
	m, err1 := strconv.Atoi(s[:2])
	d, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || m < 1 || m > 12 || d < 1 || d > daysIn(2000, m) {
		return 0, 0, false
	}
	return m, d, true
}

func compileMonthly(s *CalendarSpec, loc *zone) (calendarRule, error) {
	r := &dayCalendar{loc: loc}
	var set [32]bool
	n := 0
	for i, d := range s.DaysOfMonth {
		if d < 1 || d > 31 {
			return nil, fieldErr(fmtIndex("days_of_month", i), "%d is not a day of the month 1-31", d)
		}
		if !set[d] {
			n++
		}
		set[d] = true
	}
	if n == 31 {
		return nil, fieldErr("days_of_month", "excludes every day of the month: nothing would ever fire")
	}
	s.DaysOfMonth = nil
	for d := 1; d <= 31; d++ {
		if set[d] {
			s.DaysOfMonth = append(s.DaysOfMonth, d)
		}
	}
	r.excluded = func(_ int64, _, _, d int) bool { return set[d] }
	return r, nil
}

func compileWeekly(s *CalendarSpec, loc *zone) (calendarRule, error) {
	r := &dayCalendar{loc: loc}
	var set [8]bool // 1 = Sunday
	for i, d := range s.Days {
		n, err := parseWeekday(fmtIndex("days", i), d)
		if err != nil {
			return nil, err
		}
		set[n] = true
	}
	s.Days = nil
	for _, n := range []int{2, 3, 4, 5, 6, 7, 1} {
		if set[n] {
			s.Days = append(s.Days, weekDays[n-1])
		}
	}
	if len(s.Days) == 7 {
		return nil, fieldErr("days", "excludes every day of the week: nothing would ever fire")
	}
	r.excluded = func(d int64, _, _, _ int) bool {
		wd := (d + 4) % 7 // 1970-01-01 was a Thursday
		if wd < 0 {
			wd += 7
		}
		return set[wd+1]
	}
	return r, nil
}

func compileDailyCalendar(s *CalendarSpec, loc *zone) (calendarRule, error) {
	start, err := parseRangeTime("range_start", s.RangeStart)
	if err != nil {
		return nil, err
	}
	end, err := parseRangeTime("range_end", s.RangeEnd)
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, fieldErr("range_end", "%s must be after range_start %s", s.RangeEnd, s.RangeStart)
	}
	s.RangeStart, s.RangeEnd = formatRangeTime(start), formatRangeTime(end)
	return &dailyCalendar{loc: loc, start: start, end: end, invert: s.Invert}, nil
}

// parseRangeTime parses "HH:MM", "HH:MM:SS" or "HH:MM:SS.mmm" (Quartz's
// "HH:MM:SS:mmm" is accepted too) into milliseconds of the day.
func parseRangeTime(field, s string) (int64, error) {
	hms, frac, hasFrac := s, "", false
	if len(s) == 12 && (s[8] == '.' || s[8] == ':') {
		hms, frac, hasFrac = s[:8], s[9:], true
	}
	sec, err := parseTimeOfDay(field, hms)
	if err != nil {
		return 0, fieldErr(field, "%q is not a time of day HH:MM[:SS[.mmm]]", s)
	}
	ms := int64(sec) * 1000
	if hasFrac {
		n, err := strconv.Atoi(frac)
		if err != nil || len(frac) != 3 || frac[0] == '+' || frac[0] == '-' {
			return 0, fieldErr(field, "%q is not a time of day HH:MM[:SS[.mmm]]", s)
		}
		ms += int64(n)
	}
	return ms, nil
}

func formatRangeTime(ms int64) string {
	s := formatTimeOfDay(int(ms / 1000))
	if ms%1000 != 0 {
		s += fmt.Sprintf(".%03d", ms%1000)
	}
	return s
}

func sortedKeys(m map[int64]bool, format func(int64) string) []string {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = format(k)
	}
	return out
}

func cloneCalendarSpec(s CalendarSpec) CalendarSpec {
	s.Dates = slices.Clone(s.Dates)
	s.Days = slices.Clone(s.Days)
	s.DaysOfMonth = slices.Clone(s.DaysOfMonth)
	return s
}
