package scheduler

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSimpleTrigger(t *testing.T) {
	start := at(t, "2026-05-01T10:00:00Z")
	cases := []struct {
		name string
		spec Spec
		want []string
	}{
		{"repeat 3 fires 4 times", Spec{Kind: KindSimple, Interval: Interval{Duration: 1500 * time.Millisecond}, RepeatCount: ptr(int64(3)), StartAt: &start},
			[]string{"2026-05-01T10:00:00Z", "2026-05-01T10:00:01.5Z", "2026-05-01T10:00:03Z", "2026-05-01T10:00:04.5Z"}},
		{"one-shot without interval", Spec{Kind: KindSimple, RepeatCount: ptr(int64(0)), StartAt: &start},
			[]string{"2026-05-01T10:00:00Z"}},
		{"end_at is exclusive", Spec{Kind: KindSimple, Interval: Interval{Duration: time.Minute}, StartAt: &start, EndAt: ptr(start.Add(3 * time.Minute))},
			[]string{"2026-05-01T10:00:00Z", "2026-05-01T10:01:00Z", "2026-05-01T10:02:00Z"}},
		{"end_at wins over the repeat count", Spec{Kind: KindSimple, Interval: Interval{Duration: time.Hour}, RepeatCount: ptr(int64(10)), StartAt: &start, EndAt: ptr(start.Add(90 * time.Minute))},
			[]string{"2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := mustCompile(t, c.spec)
			require.Equal(t, c.want, utc(Preview(tr, nil, time.Time{}, 10)))
		})
	}
}

func TestSimpleForeverByDefault(t *testing.T) {
	tr := mustCompile(t, Spec{Kind: KindSimple, Interval: Interval{Duration: time.Second}})
	require.Equal(t, int64(-1), *tr.Spec().RepeatCount)
	require.Len(t, Preview(tr, nil, at(t, "2026-01-01T00:00:00Z"), 500), 500)
}

func TestInitialFiredState(t *testing.T) {
	now := at(t, "2026-05-01T10:00:00.123456789Z")
	tr := mustCompile(t, Spec{Kind: KindSimple, Interval: Interval{Duration: time.Minute}, RepeatCount: ptr(int64(1))})

	s := tr.Initial(now, nil)
	require.Equal(t, at(t, "2026-05-01T10:00:00.123Z"), s.Start, "the implicit start is now, in milliseconds like Quartz")
	require.Equal(t, s.Start, s.Next)
	require.Equal(t, int64(1), s.RepeatCount)
	require.True(t, s.Prev.IsZero())

	s = tr.Fired(s, nil)
	require.Equal(t, int64(1), s.Times)
	require.Equal(t, at(t, "2026-05-01T10:00:00.123Z"), s.Prev)
	require.Equal(t, at(t, "2026-05-01T10:01:00.123Z"), s.Next)

	s = tr.Fired(s, nil)
	require.True(t, s.Done())
	require.Equal(t, int64(2), s.Times)
	require.Equal(t, s, tr.Fired(s, nil), "a done trigger stays done")
}

func TestCronStartAndEnd(t *testing.T) {
	s := cronSpec("0 * * * * ?", "UTC", "2026-05-01T10:00:30Z")
	s.EndAt = ptr(at(t, "2026-05-01T10:03:00Z"))
	tr := mustCompile(t, s)
	// The first fire is at or after start_at; end_at is inclusive for cron.
	require.Equal(t, []string{"2026-05-01T10:01:00Z", "2026-05-01T10:02:00Z", "2026-05-01T10:03:00Z"},
		utc(Preview(tr, nil, time.Time{}, 10)))

	s = cronSpec("* * * * * ?", "UTC", "")
	s.StartAt = ptr(at(t, "2026-05-01T10:00:00.5Z"))
	tr = mustCompile(t, s)
	require.Equal(t, []string{"2026-05-01T10:00:01Z"}, utc(Preview(tr, nil, time.Time{}, 1)))

	// Without start_at, "now" starts the schedule: a fire exactly at now counts.
	tr = mustCompile(t, cronSpec("0 0 * * * ?", "UTC", ""))
	require.Equal(t, []string{"2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z"},
		utc(Preview(tr, nil, at(t, "2026-05-01T10:00:00Z"), 2)))
}

func TestDailyTimeIntervalTrigger(t *testing.T) {
	monday := at(t, "2026-05-04T00:00:00Z")
	cases := []struct {
		name string
		spec Spec
		want []string
	}{
		{"every 72 minutes from 8 to 11", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "08:00", EndTimeOfDay: "11:00:00",
			Interval: Interval{Count: 72, IsCount: true}, Unit: "minute", StartAt: &monday},
			[]string{"2026-05-04 08:00:00 UTC", "2026-05-04 09:12:00 UTC", "2026-05-04 10:24:00 UTC", "2026-05-05 08:00:00 UTC"}},
		{"chosen days of the week", Spec{Kind: KindDailyTimeInterval, DaysOfWeek: []string{"fri", "Monday"}, StartTimeOfDay: "09:00:00",
			EndTimeOfDay: "10:00:00", Interval: Interval{Count: 1, IsCount: true}, Unit: "hour", StartAt: &monday},
			[]string{"2026-05-04 09:00:00 UTC", "2026-05-04 10:00:00 UTC", "2026-05-08 09:00:00 UTC", "2026-05-08 10:00:00 UTC", "2026-05-11 09:00:00 UTC"}},
		{"a start inside the day begins at the next step", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "08:00:00", EndTimeOfDay: "11:00:00",
			Interval: Interval{Count: 72, IsCount: true}, Unit: "minute", StartAt: ptr(at(t, "2026-05-04T09:00:00Z"))},
			[]string{"2026-05-04 09:12:00 UTC", "2026-05-04 10:24:00 UTC", "2026-05-05 08:00:00 UTC"}},
		{"repeat_count counts over the whole life", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "08:00:00", EndTimeOfDay: "09:00:00",
			Interval: Interval{Count: 30, IsCount: true}, Unit: "minute", RepeatCount: ptr(int64(4)), StartAt: &monday},
			[]string{"2026-05-04 08:00:00 UTC", "2026-05-04 08:30:00 UTC", "2026-05-04 09:00:00 UTC", "2026-05-05 08:00:00 UTC", "2026-05-05 08:30:00 UTC"}},
		{"end_at is inclusive", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "08:00:00", EndTimeOfDay: "09:00:00",
			Interval: Interval{Count: 30, IsCount: true}, Unit: "minute", StartAt: &monday, EndAt: ptr(at(t, "2026-05-04T08:30:00Z"))},
			[]string{"2026-05-04 08:00:00 UTC", "2026-05-04 08:30:00 UTC"}},
		{"end_at inside a day stops the same day", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "08:00:00", EndTimeOfDay: "09:00:00",
			Interval: Interval{Count: 30, IsCount: true}, Unit: "minute", StartAt: &monday, EndAt: ptr(at(t, "2026-05-04T08:45:00Z"))},
			[]string{"2026-05-04 08:00:00 UTC", "2026-05-04 08:30:00 UTC"}},
		{"seconds in a zone", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "23:59:58", TimeZone: "Asia/Kolkata",
			Interval: Interval{Count: 1, IsCount: true}, Unit: "second", StartAt: &monday},
			[]string{"2026-05-04 23:59:58 IST", "2026-05-04 23:59:59 IST", "2026-05-05 23:59:58 IST"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, fires(t, c.spec, len(c.want)+1)[:len(c.want)])
			if c.spec.RepeatCount != nil || c.spec.EndAt != nil {
				require.Len(t, fires(t, c.spec, 100), len(c.want))
			}
		})
	}
}

func TestCalendarIntervalTrigger(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want []string
	}{
		{"every 2 hours, end_at exclusive", Spec{Kind: KindCalendarInterval, Interval: Interval{Count: 2, IsCount: true}, Unit: "hour",
			StartAt: ptr(at(t, "2026-05-01T10:00:00Z")), EndAt: ptr(at(t, "2026-05-01T16:00:00Z"))},
			[]string{"2026-05-01 10:00:00 UTC", "2026-05-01 12:00:00 UTC", "2026-05-01 14:00:00 UTC"}},
		{"weekly keeps the wall time", Spec{Kind: KindCalendarInterval, Unit: "week", TimeZone: "Europe/Berlin", StartAt: ptr(at(t, "2026-03-16T08:00:00Z"))},
			[]string{"2026-03-16 09:00:00 CET", "2026-03-23 09:00:00 CET", "2026-03-30 09:00:00 CEST"}},
		{"yearly from Feb 29 clamps and stays on the 28th", Spec{Kind: KindCalendarInterval, Unit: "year", StartAt: ptr(at(t, "2028-02-29T12:00:00Z"))},
			[]string{"2028-02-29 12:00:00 UTC", "2029-02-28 12:00:00 UTC", "2030-02-28 12:00:00 UTC", "2031-02-28 12:00:00 UTC", "2032-02-28 12:00:00 UTC"}},
		{"every 3 months in Kolkata", Spec{Kind: KindCalendarInterval, Interval: Interval{Count: 3, IsCount: true}, Unit: "month", TimeZone: "Asia/Kolkata",
			StartAt: ptr(at(t, "2026-01-30T18:30:00Z"))},
			[]string{"2026-01-31 00:00:00 IST", "2026-04-30 00:00:00 IST", "2026-07-30 00:00:00 IST"}},
		{"default unit is a day", Spec{Kind: KindCalendarInterval, StartAt: ptr(at(t, "2026-05-01T10:00:00Z"))},
			[]string{"2026-05-01 10:00:00 UTC", "2026-05-02 10:00:00 UTC"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, fires(t, c.spec, len(c.want)+1)[:len(c.want)])
		})
	}
}

func TestSpecNormalized(t *testing.T) {
	tr := mustCompile(t, Spec{Kind: KindCron, Cron: "0 0 2 * * ?"})
	s := tr.Spec()
	require.Equal(t, "UTC", s.TimeZone)
	require.Equal(t, DefaultPriority, s.Priority)
	require.Equal(t, MisfireFireOnceNow, s.Misfire)
	require.Equal(t, time.UTC, tr.Location())

	s = mustCompile(t, Spec{Kind: KindSimple, Interval: Interval{Duration: time.Minute}, Priority: 9}).Spec()
	require.Equal(t, int64(-1), *s.RepeatCount)
	require.Equal(t, MisfireSmartPolicy, s.Misfire)
	require.Equal(t, 9, s.Priority)

	s = mustCompile(t, Spec{Kind: KindDailyTimeInterval, TimeZone: "America/New_York"}).Spec()
	require.Equal(t, []string{"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}, s.DaysOfWeek)
	require.Equal(t, "00:00:00", s.StartTimeOfDay)
	require.Equal(t, "23:59:59", s.EndTimeOfDay)
	require.Equal(t, Interval{Count: 1, IsCount: true}, s.Interval)
	require.Equal(t, "minute", s.Unit)
	require.Equal(t, int64(-1), *s.RepeatCount)

	s = mustCompile(t, Spec{Kind: KindDailyTimeInterval, DaysOfWeek: []string{"sun", "Fri", "MON", "fri"}, StartTimeOfDay: "08:00"}).Spec()
	require.Equal(t, []string{"MON", "FRI", "SUN"}, s.DaysOfWeek)
	require.Equal(t, "08:00:00", s.StartTimeOfDay)

	s = mustCompile(t, Spec{Kind: KindCalendarInterval}).Spec()
	require.Equal(t, "day", s.Unit)
	require.Equal(t, int64(1), s.Interval.Count)
}

func TestSpecIsACopy(t *testing.T) {
	start := at(t, "2026-05-01T10:00:00Z")
	in := Spec{Kind: KindDailyTimeInterval, DaysOfWeek: []string{"MON"}, StartAt: &start}
	tr := mustCompile(t, in)
	in.DaysOfWeek[0] = "TUE"
	start = start.Add(time.Hour)
	s := tr.Spec()
	s.DaysOfWeek[0] = "WED"
	*s.StartAt = s.StartAt.Add(time.Hour)
	require.Equal(t, []string{"MON"}, tr.Spec().DaysOfWeek)
	require.Equal(t, at(t, "2026-05-01T10:00:00Z"), *tr.Spec().StartAt)
}

func TestSpecJSONRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"kind":"simple","interval":"1500ms","repeat_count":-1}`,
		`{"kind":"daily_time_interval","days_of_week":["MON","FRI"],"start_time_of_day":"08:00:00","end_time_of_day":"17:00:00","interval":15,"unit":"minute","time_zone":"America/New_York"}`,
		`{"kind":"calendar_interval","interval":1,"unit":"month","time_zone":"Asia/Kolkata","preserve_hour_of_day_across_dst":true}`,
		`{"kind":"cron","cron":"0/5 * * * * ?","time_zone":"Europe/Berlin"}`,
	} {
		var s Spec
		require.NoError(t, json.Unmarshal([]byte(in), &s))
		tr := mustCompile(t, s)
		out, err := json.Marshal(tr.Spec())
		require.NoError(t, err)
		var again Spec
		require.NoError(t, json.Unmarshal(out, &again))
		tr2 := mustCompile(t, again)
		require.Equal(t, tr.Spec(), tr2.Spec(), "normalizing is idempotent: %s", out)
		from := at(t, "2026-05-01T00:00:00Z")
		require.Equal(t, Preview(tr, nil, from, 20), Preview(tr2, nil, from, 20))
	}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	start := at(t, "2026-05-01T10:00:00Z")
	cases := []struct {
		name  string
		spec  Spec
		field string
		msg   string
	}{
		{"no kind", Spec{}, "kind", "is required"},
		{"bad kind", Spec{Kind: "interval"}, "kind", `"interval" is not one of cron, simple`},
		{"bad zone", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", TimeZone: "Mars/Olympus"}, "time_zone", "is not an IANA zone name"},
		{"local zone", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", TimeZone: "Local"}, "time_zone", "is not an IANA zone name"},
		{"end before start", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", StartAt: &start, EndAt: ptr(start.Add(-time.Second))}, "end_at", "must not be before start_at"},
		{"start out of range", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", StartAt: ptr(at(t, "2300-01-01T00:00:00Z"))}, "start_at", "outside the years 1970-2199"},
		{"bad misfire", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", Misfire: "fire_now"}, "misfire", `"fire_now" is not a misfire instruction of cron triggers`},
		{"simple misfire on cron", Spec{Kind: KindSimple, Interval: Interval{Duration: time.Second}, Misfire: "do_nothing"}, "misfire", "fire_now, reschedule_now_with_existing_repeat_count"},
		{"calendar name", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", Calendar: "bad\nname"}, "calendar", "control character"},
		{"cron field on simple", Spec{Kind: KindSimple, Interval: Interval{Duration: time.Second}, Cron: "0 0 0 * * ?"}, "cron", "is not used by simple triggers"},
		{"interval on cron", Spec{Kind: KindCron, Cron: "0 0 0 * * ?", Interval: Interval{Duration: time.Second}}, "interval", "is not used by cron triggers"},
		{"days on calendar interval", Spec{Kind: KindCalendarInterval, DaysOfWeek: []string{"MON"}}, "days_of_week", "is not used by calendar_interval triggers"},
		{"repeat on calendar interval", Spec{Kind: KindCalendarInterval, RepeatCount: ptr(int64(3))}, "repeat_count", "is not used"},
		{"missing cron", Spec{Kind: KindCron}, "cron", "is required"},
		{"simple needs an interval", Spec{Kind: KindSimple}, "interval", "is required"},
		{"simple interval as count", Spec{Kind: KindSimple, Interval: Interval{Count: 5, IsCount: true}}, "interval", "must be a duration string"},
		{"simple negative interval", Spec{Kind: KindSimple, Interval: Interval{Duration: -time.Second}}, "interval", "must not be negative"},
		{"simple sub-millisecond", Spec{Kind: KindSimple, Interval: Interval{Duration: 1500 * time.Microsecond}}, "interval", "whole number of milliseconds"},
		{"simple zero interval repeating", Spec{Kind: KindSimple, RepeatCount: ptr(int64(3))}, "interval", "is required"},
		{"simple repeat below -1", Spec{Kind: KindSimple, Interval: Interval{Duration: time.Second}, RepeatCount: ptr(int64(-2))}, "repeat_count", "out of range"},
		{"daily unit", Spec{Kind: KindDailyTimeInterval, Unit: "day"}, "unit", `"day" is not one of second, minute, hour`},
		{"daily interval string", Spec{Kind: KindDailyTimeInterval, Interval: Interval{Duration: time.Minute}}, "interval", "must be a whole number counted in unit"},
		{"daily interval zero", Spec{Kind: KindDailyTimeInterval, Interval: Interval{Count: 0, IsCount: true}}, "interval", "out of range"},
		{"daily interval over a day", Spec{Kind: KindDailyTimeInterval, Interval: Interval{Count: 25, IsCount: true}, Unit: "hour"}, "interval", "longer than a day"},
		{"daily bad day", Spec{Kind: KindDailyTimeInterval, DaysOfWeek: []string{"MON", "Funday"}}, "days_of_week[1]", `"Funday" is not a day of the week`},
		{"daily bad start time", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "8am"}, "start_time_of_day", "is not a time of day"},
		{"daily bad end time", Spec{Kind: KindDailyTimeInterval, EndTimeOfDay: "24:00:00"}, "end_time_of_day", "is not a time of day"},
		{"daily end before start", Spec{Kind: KindDailyTimeInterval, StartTimeOfDay: "10:00:00", EndTimeOfDay: "10:00:00"}, "end_time_of_day", "must be after start_time_of_day"},
		{"calendar unit", Spec{Kind: KindCalendarInterval, Unit: "fortnight"}, "unit", `"fortnight" is not one of second, minute, hour, day, week, month, year`},
		{"preserve with hours", Spec{Kind: KindCalendarInterval, Unit: "hour", PreserveHourOfDayAcrossDST: true}, "preserve_hour_of_day_across_dst", "a day or longer"},
		{"skip without preserve", Spec{Kind: KindCalendarInterval, SkipDayIfHourDoesNotExist: true}, "skip_day_if_hour_does_not_exist", "requires preserve_hour_of_day_across_dst"},
		{"cron text", Spec{Kind: KindCron, Cron: "0 0 25 * * ?"}, "cron", "hours"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.spec)
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "got %v", err)
			require.Equal(t, c.field, fe.Field)
			require.Contains(t, fe.Message, c.msg)
		})
	}
}

func TestLoadZone(t *testing.T) {
	loc, err := LoadZone("")
	require.NoError(t, err)
	require.Equal(t, time.UTC, loc)
	loc, err = LoadZone("Australia/Lord_Howe")
	require.NoError(t, err)
	again, err := LoadZone("Australia/Lord_Howe")
	require.NoError(t, err)
	require.Same(t, loc, again)
	_, err = LoadZone(" Europe/Berlin")
	require.Error(t, err)
}

func TestPreviewAndFormatLocal(t *testing.T) {
	tr := mustCompile(t, cronSpec("0 30 2 * * ?", "America/New_York", ""))
	got := Preview(tr, nil, at(t, "2026-03-07T12:00:00Z"), 2)
	require.Equal(t, []string{"Sun 2026-03-08 03:30:00 EDT", "Mon 2026-03-09 02:30:00 EDT"},
		[]string{FormatLocal(got[0], tr.Location()), FormatLocal(got[1], tr.Location())})

	lh, err := LoadZone("Australia/Lord_Howe")
	require.NoError(t, err)
	require.Equal(t, "Sun 2026-04-05 01:30:00.250 +10:30", FormatLocal(at(t, "2026-04-04T15:00:00.25Z"), lh))
	require.Equal(t, "Thu 1970-01-01 00:00:00 UTC", FormatLocal(time.Unix(0, 0), nil))

	require.Nil(t, Preview(tr, nil, time.Now(), 0))
	require.Len(t, Preview(tr, nil, time.Now(), MaxPreviewCount+5), MaxPreviewCount)
}
