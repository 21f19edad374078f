package scheduler

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCalendarKinds(t *testing.T) {
	cases := []struct {
		name     string
		spec     CalendarSpec
		included []string
		excluded []string
		// next: NextIncluded(from) == want
		next [][2]string
	}{
		{
			name:     "holiday in its zone",
			spec:     CalendarSpec{Kind: CalendarHoliday, TimeZone: "Europe/Berlin", Dates: []string{"2026-12-25", "2026-12-24"}},
			included: []string{"2026-12-23T22:59:59.999Z", "2026-12-25T23:00:00Z"},
			excluded: []string{"2026-12-23T23:00:00Z", "2026-12-25T22:59:59.999Z"},
			next:     [][2]string{{"2026-12-24T10:00:00Z", "2026-12-25T23:00:00Z"}, {"2026-12-01T10:00:00Z", "2026-12-01T10:00:00.001Z"}},
		},
		{
			name:     "annual ignores the year",
			spec:     CalendarSpec{Kind: CalendarAnnual, Days: []string{"01-01", "12-25"}},
			included: []string{"2026-12-24T23:59:59Z", "2031-01-02T00:00:00Z"},
			excluded: []string{"2026-12-25T00:00:00Z", "2031-01-01T12:00:00Z"},
			next:     [][2]string{{"2026-12-25T08:00:00Z", "2026-12-26T00:00:00Z"}},
		},
		{
			name:     "monthly",
			spec:     CalendarSpec{Kind: CalendarMonthly, DaysOfMonth: []int{1, 31}},
			included: []string{"2026-04-30T12:00:00Z", "2026-05-02T00:00:00Z"},
			excluded: []string{"2026-05-01T12:00:00Z", "2026-05-31T23:59:59Z"},
			next:     [][2]string{{"2026-05-31T08:00:00Z", "2026-06-02T00:00:00Z"}},
		},
		{
			name:     "weekly",
			spec:     CalendarSpec{Kind: CalendarWeekly, Days: []string{"SAT", "sun"}, TimeZone: "America/New_York"},
			included: []string{"2026-05-08T23:00:00Z", "2026-05-11T04:00:00Z"},
			excluded: []string{"2026-05-09T04:00:00Z", "2026-05-11T03:59:59Z"},
			next:     [][2]string{{"2026-05-09T12:00:00Z", "2026-05-11T04:00:00Z"}},
		},
		{
			name:     "daily range, end inclusive",
			spec:     CalendarSpec{Kind: CalendarDaily, RangeStart: "09:00", RangeEnd: "17:00"},
			included: []string{"2026-05-04T00:00:00Z", "2026-05-04T08:59:59.999Z", "2026-05-04T17:00:00.001Z"},
			excluded: []string{"2026-05-04T09:00:00Z", "2026-05-04T17:00:00Z"},
			next:     [][2]string{{"2026-05-04T10:00:00Z", "2026-05-04T17:00:00.001Z"}},
		},
		{
			name:     "daily range inverted",
			spec:     CalendarSpec{Kind: CalendarDaily, RangeStart: "09:00:00", RangeEnd: "17:00:00.500", Invert: true},
			included: []string{"2026-05-04T09:00:00Z", "2026-05-04T17:00:00.5Z"},
			excluded: []string{"2026-05-04T00:00:00Z", "2026-05-04T17:00:00.501Z"},
			next:     [][2]string{{"2026-05-04T18:00:00Z", "2026-05-05T09:00:00Z"}, {"2026-05-04T03:00:00Z", "2026-05-04T09:00:00Z"}},
		},
		{
			name:     "cron matches wall-clock seconds",
			spec:     CalendarSpec{Kind: CalendarCron, Cron: "* * 0-5 ? * MON-FRI", TimeZone: "Asia/Kolkata"},
			included: []string{"2026-05-04T00:30:00Z", "2026-05-09T00:00:00Z"},
			excluded: []string{"2026-05-03T18:30:00Z", "2026-05-04T00:29:59.999Z"},
			next:     [][2]string{{"2026-05-04T00:00:00Z", "2026-05-04T00:30:00Z"}},
		},
		{
			name:     "cron excludes both passes of a repeated hour",
			spec:     CalendarSpec{Kind: CalendarCron, Cron: "* * 1 * * ?", TimeZone: "America/New_York"},
			included: []string{"2026-11-01T04:59:59Z", "2026-11-01T07:00:00Z"},
			excluded: []string{"2026-11-01T05:00:00Z", "2026-11-01T06:30:00Z"},
			next:     [][2]string{{"2026-11-01T05:10:00Z", "2026-11-01T07:00:00Z"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.spec.Name = "c"
			cal := mustCalendar(t, c.spec, nil)
			for _, s := range c.included {
				require.True(t, cal.Included(at(t, s)), "included %s", s)
			}
			for _, s := range c.excluded {
				require.False(t, cal.Included(at(t, s)), "excluded %s", s)
			}
			for _, n := range c.next {
				got := cal.NextIncluded(at(t, n[0]))
				require.Equal(t, at(t, n[1]), got, "next after %s", n[0])
				require.True(t, cal.Included(got))
			}
		})
	}
}

// Quartz 2.3's DailyCalendar excludes the first millisecond of every day
// even outside its range; swarm does not.
func TestDailyCalendarIncludesMidnight(t *testing.T) {
	cal := mustCalendar(t, CalendarSpec{Name: "office", Kind: CalendarDaily, RangeStart: "09:00", RangeEnd: "17:00"}, nil)
	require.True(t, cal.Included(at(t, "2026-05-04T00:00:00Z")))
	tr := mustCompile(t, cronSpec("0 0 0,12 * * ?", "UTC", "2026-05-04T00:00:00Z"))
	require.Equal(t, []string{"2026-05-04T00:00:00Z", "2026-05-05T00:00:00Z"}, utc(Preview(tr, cal, time.Time{}, 2)))
}

func TestCalendarBaseChain(t *testing.T) {
	weekend := mustCalendar(t, CalendarSpec{Name: "weekend", Kind: CalendarWeekly, Days: []string{"SAT", "SUN"}}, nil)
	byName := func(name string) (Calendar, error) {
		if name == "weekend" {
			return weekend, nil
		}
		return nil, errors.New("no calendar " + name)
	}
	holidays := mustCalendar(t, CalendarSpec{Name: "holidays", Kind: CalendarHoliday, Dates: []string{"2026-12-24", "2026-12-25", "2026-12-28"}, Base: "weekend"}, byName)
	night := mustCalendar(t, CalendarSpec{Name: "night", Kind: CalendarDaily, RangeStart: "00:00", RangeEnd: "06:00", Base: "holidays"},
		func(string) (Calendar, error) { return holidays, nil })

	require.False(t, holidays.Included(at(t, "2026-12-26T12:00:00Z")), "the base's Saturday")
	require.False(t, holidays.Included(at(t, "2026-12-24T12:00:00Z")), "its own holiday")
	require.True(t, holidays.Included(at(t, "2026-12-23T12:00:00Z")))
	// Thursday 24th and Friday 25th are holidays, then a weekend, then the
	// 28th, so the next included time is Tuesday the 29th, after 06:00.
	require.Equal(t, at(t, "2026-12-29T06:00:00.001Z"), night.NextIncluded(at(t, "2026-12-24T01:00:00Z")))

	tr := mustCompile(t, cronSpec("0 0 9 * * ?", "UTC", "2026-12-22T00:00:00Z"))
	require.Equal(t, []string{"2026-12-22T09:00:00Z", "2026-12-23T09:00:00Z", "2026-12-29T09:00:00Z", "2026-12-30T09:00:00Z"},
		utc(Preview(tr, night, time.Time{}, 4)))
}

func TestTriggersSkipExcludedTimes(t *testing.T) {
	weekend := mustCalendar(t, CalendarSpec{Name: "weekend", Kind: CalendarWeekly, Days: []string{"SAT", "SUN"}}, nil)
	friday := at(t, "2026-05-08T22:00:00Z")
	cases := []struct {
		name string
		spec Spec
		want []string
	}{
		{"simple", Spec{Kind: KindSimple, Interval: Interval{Duration: 45 * time.Minute}, StartAt: &friday},
			// 22:00, 22:45, 23:30, then the first slot on Monday: 22:00 + 67*45m
			[]string{"2026-05-08T22:00:00Z", "2026-05-08T22:45:00Z", "2026-05-08T23:30:00Z", "2026-05-11T00:15:00Z", "2026-05-11T01:00:00Z"}},
		{"simple start excluded", Spec{Kind: KindSimple, Interval: Interval{Duration: 7 * time.Hour}, StartAt: ptr(at(t, "2026-05-09T01:00:00Z"))},
			// Saturday 01:00 + 7*7h: the excluded slots still count
			[]string{"2026-05-11T02:00:00Z", "2026-05-11T09:00:00Z"}},
		{"cron", Spec{Kind: KindCron, Cron: "0 0 */10 * * ?", StartAt: &friday},
			[]string{"2026-05-11T00:00:00Z", "2026-05-11T10:00:00Z"}},
		{"daily", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "22:00:00", Interval: Interval{Count: 1, IsCount: true}, Unit: "hour", StartAt: &friday},
			[]string{"2026-05-08T22:00:00Z", "2026-05-08T23:00:00Z", "2026-05-11T22:00:00Z"}},
		{"calendar interval", Spec{Kind: KindCalendarInterval, Unit: "day", StartAt: &friday},
			[]string{"2026-05-08T22:00:00Z", "2026-05-11T22:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := mustCompile(t, c.spec)
			require.Equal(t, c.want, utc(Preview(tr, weekend, time.Time{}, len(c.want))))
		})
	}
}

// A calendar that excludes every fire ends the trigger instead of looping.
func TestCalendarExcludingEveryFireCompletes(t *testing.T) {
	cal := mustCalendar(t, CalendarSpec{Name: "mornings", Kind: CalendarDaily, RangeStart: "08:00", RangeEnd: "12:00"}, nil)
	tr := mustCompile(t, cronSpec("0 0 9 * * ?", "UTC", "2026-01-01T00:00:00Z"))
	s := tr.Initial(time.Time{}, cal)
	require.True(t, s.Done())
}

func TestCalendarDayStartInDSTGap(t *testing.T) {
	// Sao Paulo's clocks jumped from 00:00 to 01:00 on 2018-11-04: that day
	// begins at 01:00 -02.
	cal := mustCalendar(t, CalendarSpec{Name: "sat", Kind: CalendarWeekly, Days: []string{"SAT"}, TimeZone: "America/Sao_Paulo"}, nil)
	require.Equal(t, at(t, "2018-11-04T03:00:00Z"), cal.NextIncluded(at(t, "2018-11-03T12:00:00Z")))
}

func TestCalendarSpecNormalized(t *testing.T) {
	c := mustCalendar(t, CalendarSpec{Name: "h", Kind: CalendarHoliday, Dates: []string{"2026-12-25", "2026-01-01", "2026-12-25"}}, nil)
	s := c.(SpecCalendar).Spec()
	require.Equal(t, []string{"2026-01-01", "2026-12-25"}, s.Dates)
	require.Equal(t, "UTC", s.TimeZone)

	_, err := CompileCalendar(CalendarSpec{Name: "d", Kind: CalendarDaily, RangeStart: "09:00", RangeEnd: "17:00:00:250"}, nil)
	require.NoError(t, err)
	s = mustCalendar(t, CalendarSpec{Name: "d", Kind: CalendarDaily, RangeStart: "09:00", RangeEnd: "17:00:00.250"}, nil).(SpecCalendar).Spec()
	require.Equal(t, "09:00:00", s.RangeStart)
	require.Equal(t, "17:00:00.250", s.RangeEnd)

	s = mustCalendar(t, CalendarSpec{Name: "w", Kind: CalendarWeekly, Days: []string{"sunday", "sat", "mon"}}, nil).(SpecCalendar).Spec()
	require.Equal(t, []string{"MON", "SAT", "SUN"}, s.Days)

	s = mustCalendar(t, CalendarSpec{Name: "m", Kind: CalendarMonthly, DaysOfMonth: []int{31, 1, 15, 1}}, nil).(SpecCalendar).Spec()
	require.Equal(t, []int{1, 15, 31}, s.DaysOfMonth)
}

func TestCalendarErrorsNameTheField(t *testing.T) {
	found := func(string) (Calendar, error) { return nil, errors.New(`calendar "x" does not exist`) }
	cases := []struct {
		spec  CalendarSpec
		base  func(string) (Calendar, error)
		field string
		msg   string
	}{
		{CalendarSpec{Kind: CalendarHoliday, Dates: []string{"2026-01-01"}}, nil, "name", "is required"},
		{CalendarSpec{Name: "c", Kind: "yearly"}, nil, "kind", `"yearly" is not one of holiday`},
		{CalendarSpec{Name: "c", Kind: CalendarHoliday, Dates: []string{"2026-01-01"}, TimeZone: "Nowhere/City"}, nil, "time_zone", "IANA"},
		{CalendarSpec{Name: "c", Kind: CalendarHoliday}, nil, "dates", "is required for holiday calendars"},
		{CalendarSpec{Name: "c", Kind: CalendarHoliday, Dates: []string{"2026-01-01", "2026-02-30"}}, nil, "dates[1]", "not a date"},
		{CalendarSpec{Name: "c", Kind: CalendarHoliday, Dates: []string{"2026-01-01"}, Days: []string{"MON"}}, nil, "days", "is not used by holiday calendars"},
		{CalendarSpec{Name: "c", Kind: CalendarAnnual, Days: []string{"12-25", "13-01"}}, nil, "days[1]", "not a day of the year"},
		{CalendarSpec{Name: "c", Kind: CalendarMonthly, DaysOfMonth: []int{0}}, nil, "days_of_month[0]", "not a day of the month"},
		{CalendarSpec{Name: "c", Kind: CalendarWeekly, Days: []string{"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}}, nil, "days", "every day of the week"},
		{CalendarSpec{Name: "c", Kind: CalendarWeekly, Days: []string{"XYZ"}}, nil, "days[0]", "not a day of the week"},
		{CalendarSpec{Name: "c", Kind: CalendarDaily, RangeStart: "17:00", RangeEnd: "09:00"}, nil, "range_end", "must be after range_start"},
		{CalendarSpec{Name: "c", Kind: CalendarDaily, RangeStart: "9am", RangeEnd: "17:00"}, nil, "range_start", "not a time of day"},
		{CalendarSpec{Name: "c", Kind: CalendarDaily, RangeStart: "09:00"}, nil, "range_end", "is required"},
		{CalendarSpec{Name: "c", Kind: CalendarCron, Cron: "0 0 0 * * *"}, nil, "cron", "day-of-week"},
		{CalendarSpec{Name: "c", Kind: CalendarCron, Cron: "* * 1 * * ?", Base: "c"}, nil, "base", "its own base"},
		{CalendarSpec{Name: "c", Kind: CalendarCron, Cron: "* * 1 * * ?", Base: "x"}, nil, "base", "cannot be resolved"},
		{CalendarSpec{Name: "c", Kind: CalendarCron, Cron: "* * 1 * * ?", Base: "x"}, found, "base", `calendar "x" does not exist`},
	}
	for _, c := range cases {
		_, err := CompileCalendar(c.spec, c.base)
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%+v: %v", c.spec, err)
		require.Equal(t, c.field, fe.Field, "%+v", c.spec)
		require.Contains(t, fe.Message, c.msg)
	}
}
