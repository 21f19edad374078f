package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// swarm's cron DST policy (cron_dst.go, docs/triggers.md): gap readings
// fire at their reading under the offset before the gap, overlap readings
// fire once unless the hours field is "every hour". Expected values are
// written as UTC instants with the local reading alongside.
func TestCronDSTPolicy(t *testing.T) {
	cases := []struct {
		name, expr, zone, start string
		want                    []string // UTC
	}{
		{
			name: "new york gap: 02:30 fires at 03:30 EDT",
			expr: "0 30 2 * * ?", zone: "America/New_York", start: "2026-03-07T00:00:00Z",
			// 02:30 EST, 03:30 EDT (the 02:30 that did not happen), 02:30 EDT
			want: []string{"2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"},
		},
		{
			name: "new york gap reading equal to a regular match fires once",
			expr: "0 30 2,3 * * ?", zone: "America/New_York", start: "2026-03-08T00:00:00Z",
			// 02:30 (gap) and 03:30 EDT are the same instant; then 02:30 and 03:30 EDT on the 9th
			want: []string{"2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-09T07:30:00Z"},
		},
		{
			name: "new york hourly through the gap",
			expr: "0 0 * * * ?", zone: "America/New_York", start: "2026-03-08T05:00:00Z",
			// 00:00 EST, 01:00 EST, 03:00 EDT (also the 02:00 gap reading), 04:00 EDT
			want: []string{"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"},
		},
		{
			name: "new york every 30 minutes of the 2 o'clock hour on the gap day",
			expr: "0 */30 2 * * ?", zone: "America/New_York", start: "2026-03-08T00:00:00Z",
			want: []string{"2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:00:00Z"},
		},
		{
			name: "new york overlap: a fixed time fires at its first occurrence",
			expr: "0 30 1 * * ?", zone: "America/New_York", start: "2026-10-31T00:00:00Z",
			// 01:30 EDT on the 31st, 01:30 EDT on Nov 1 (not 01:30 EST), 01:30 EST on the 2nd
			want: []string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
		},
		{
			name: "new york overlap: every 15 minutes keeps its beat",
			expr: "0 */15 * * * ?", zone: "America/New_York", start: "2026-11-01T05:30:00Z",
			// 01:30 EDT, 01:45 EDT, 01:00 EST, 01:15 EST, ...
			want: []string{"2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z",
				"2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", "2026-11-01T07:00:00Z"},
		},
		{
			name: "new york overlap: a 1 o'clock-only interval fires once",
			expr: "0 */15 1 * * ?", zone: "America/New_York", start: "2026-11-01T05:30:00Z",
			want: []string{"2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", "2026-11-02T06:00:00Z"},
		},
		{
			name: "berlin gap",
			expr: "0 30 2 * * ?", zone: "Europe/Berlin", start: "2026-03-28T12:00:00Z",
			// 02:30 CET would be 01:30Z: that is 03:30 CEST
			want: []string{"2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"},
		},
		{
			name: "berlin overlap",
			expr: "0 30 2 * * ?", zone: "Europe/Berlin", start: "2026-10-24T12:00:00Z",
			// 02:30 CEST (00:30Z) only, not 02:30 CET (01:30Z)
			want: []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		},
		{
			name: "lord howe half-hour gap",
			expr: "0 15 2 * * ?", zone: "Australia/Lord_Howe", start: "2026-10-02T00:00:00Z",
			// 02:15 +10:30 (Oct 3), then the 02:15 that did not happen on Oct 4
			// read with +10:30 (02:45 +11), then 02:15 +11
			want: []string{"2026-10-02T15:45:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:15:00Z"},
		},
		{
			name: "lord howe half-hour overlap",
			expr: "0 45 1 * * ?", zone: "Australia/Lord_Howe", start: "2026-04-03T00:00:00Z",
			// 01:45 +11 on Apr 4 and Apr 5 (first occurrence), 01:45 +10:30 on Apr 6
			want: []string{"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"},
		},
		{
			name: "lord howe every 15 minutes through the overlap",
			expr: "0 */15 * * * ?", zone: "Australia/Lord_Howe", start: "2026-04-04T14:30:00Z",
			// 01:30 +11, 01:45 +11, 01:30 +10:30, 01:45 +10:30, 02:00 +10:30
			want: []string{"2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z", "2026-04-04T15:30:00Z"},
		},
		{
			name: "apia skipped 2011-12-30",
			expr: "0 0 12 * * ?", zone: "Pacific/Apia", start: "2011-12-28T00:00:00Z",
			// 12:00 -10 on the 28th and 29th; the 30th's noon (read with -10)
			// is the 31st's noon (+14): one fire; then Jan 1.
			want: []string{"2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z"},
		},
		{
			name: "apia: a day-of-month that did not exist still fires",
			expr: "0 0 9 30 12 ?", zone: "Pacific/Apia", start: "2011-12-01T00:00:00Z",
			want: []string{"2011-12-30T19:00:00Z", "2012-12-29T19:00:00Z"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := mustCompile(t, cronSpec(c.expr, c.zone, c.start))
			got := Preview(tr, nil, time.Time{}, len(c.want))
			require.Equal(t, c.want, utc(got), "local: %v", local(tr, got))
		})
	}
}

// Quartz 2.3 itself skips gap readings (the harness shows 03-07, 03-09 for
// "0 30 2 * * ?"); swarm fires them. Outside transitions both agree, which
// the differential test in quartzdiff checks.
func TestCronDSTDiffersFromQuartzOnlyAtTransitions(t *testing.T) {
	tr := mustCompile(t, cronSpec("0 30 2 * * ?", "America/New_York", "2026-03-05T00:00:00Z"))
	got := local(tr, Preview(tr, nil, time.Time{}, 5))
	require.Equal(t, []string{
		"2026-03-05 02:30:00 EST", "2026-03-06 02:30:00 EST", "2026-03-07 02:30:00 EST",
		"2026-03-08 03:30:00 EDT", // Quartz 2.3: no fire on the 8th
		"2026-03-09 02:30:00 EDT",
	}, got)
}

// The golden values below were measured with Quartz 2.3.2 (Debian
// libquartz2-java) through scheduler/quartzdiff/QuartzDiff.java.
func TestCalendarIntervalQuartzDST(t *testing.T) {
	cases := []struct {
		name           string
		zone, start    string
		unit           string
		preserve, skip bool
		want           []string
	}{
		{
			name: "day steps drift back by the gap (Java Calendar.add)", zone: "America/New_York",
			start: "2026-03-06T07:30:00Z", unit: "day",
			want: []string{"2026-03-06 02:30:00 EST", "2026-03-07 02:30:00 EST", "2026-03-08 01:30:00 EST",
				"2026-03-09 01:30:00 EDT", "2026-03-10 01:30:00 EDT", "2026-03-11 01:30:00 EDT"},
		},
		{
			name: "preserve hour: the missing 02:30 fires at 03:30", zone: "America/New_York",
			start: "2026-03-06T07:30:00Z", unit: "day", preserve: true,
			want: []string{"2026-03-06 02:30:00 EST", "2026-03-07 02:30:00 EST", "2026-03-08 03:30:00 EDT",
				"2026-03-09 02:30:00 EDT", "2026-03-10 02:30:00 EDT", "2026-03-11 02:30:00 EDT"},
		},
		{
			name: "preserve hour and skip the day without it", zone: "America/New_York",
			start: "2026-03-06T07:30:00Z", unit: "day", preserve: true, skip: true,
			want: []string{"2026-03-06 02:30:00 EST", "2026-03-07 02:30:00 EST", "2026-03-09 02:30:00 EDT",
				"2026-03-10 02:30:00 EDT", "2026-03-11 02:30:00 EDT", "2026-03-12 02:30:00 EDT"},
		},
		{
			name: "fall back keeps the first occurrence", zone: "America/New_York",
			start: "2026-10-30T05:30:00Z", unit: "day",
			want: []string{"2026-10-30 01:30:00 EDT", "2026-10-31 01:30:00 EDT", "2026-11-01 01:30:00 EDT",
				"2026-11-02 01:30:00 EST", "2026-11-03 01:30:00 EST"},
		},
		{
			name: "months clamp to the end and stay there", zone: "America/New_York",
			start: "2026-01-31T15:00:00Z", unit: "month",
			want: []string{"2026-01-31 10:00:00 EST", "2026-02-28 10:00:00 EST", "2026-03-28 10:00:00 EDT",
				"2026-04-28 10:00:00 EDT", "2026-05-28 10:00:00 EDT"},
		},
		{
			name: "lord howe half-hour drift", zone: "Australia/Lord_Howe",
			start: "2026-10-02T15:45:00Z", unit: "day",
			want: []string{"2026-10-03 02:15:00 +1030", "2026-10-04 01:45:00 +1030", "2026-10-05 01:45:00 +11", "2026-10-06 01:45:00 +11"},
		},
		{
			name: "lord howe preserved", zone: "Australia/Lord_Howe",
			start: "2026-10-02T15:45:00Z", unit: "day", preserve: true,
			// Only the hour is preserved: the minutes stay at :45.
			want: []string{"2026-10-03 02:15:00 +1030", "2026-10-04 02:45:00 +11", "2026-10-05 02:45:00 +11", "2026-10-06 02:45:00 +11"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Spec{Kind: KindCalendarInterval, TimeZone: c.zone, StartAt: ptr(at(t, c.start)), Unit: c.unit,
				Interval: Interval{Count: 1, IsCount: true}, PreserveHourOfDayAcrossDST: c.preserve, SkipDayIfHourDoesNotExist: c.skip}
			require.Equal(t, c.want, fires(t, s, len(c.want)))
		})
	}
}

// Quartz's day-unit walk leaps most of the way for long distances, so the
// drift after a gap lasts only while the walk still crosses it; the day the
// leap first clears the gap fires twice (measured with Quartz 2.3.2).
func TestCalendarIntervalQuartzDriftIsPathDependent(t *testing.T) {
	s := Spec{Kind: KindCalendarInterval, TimeZone: "America/New_York", StartAt: ptr(at(t, "2026-02-01T07:30:00Z")),
		Unit: "day", Interval: Interval{Count: 1, IsCount: true}}
	got := fires(t, s, 80)
	require.Equal(t, "2026-03-07 02:30:00 EST", got[34])
	require.Equal(t, "2026-03-08 01:30:00 EST", got[35])
	require.Equal(t, "2026-03-12 01:30:00 EDT", got[39])
	require.Equal(t, "2026-03-19 01:30:00 EDT", got[46])
	require.Equal(t, "2026-03-19 02:30:00 EDT", got[47], "the leap from start clears the gap again")
	require.Equal(t, "2026-04-20 02:30:00 EDT", got[79])
}

func TestDailyTimeIntervalQuartzDST(t *testing.T) {
	cases := []struct {
		name, zone, start, from, to string
		interval                    int64
		unit                        string
		want                        []string
	}{
		{
			name: "spring forward: elapsed steps from the day's start", zone: "America/New_York",
			start: "2026-03-08T00:00:00Z", from: "01:00:00", to: "04:00:00", interval: 30, unit: "minute",
			want: []string{"2026-03-08 01:00:00 EST", "2026-03-08 01:30:00 EST", "2026-03-08 03:00:00 EDT",
				"2026-03-08 03:30:00 EDT", "2026-03-08 04:00:00 EDT", "2026-03-09 01:00:00 EDT"},
		},
		{
			name: "fall back: the day starts at the second 01:00", zone: "America/New_York",
			start: "2026-11-01T00:00:00Z", from: "01:00:00", to: "04:00:00", interval: 30, unit: "minute",
			want: []string{"2026-11-01 01:00:00 EST", "2026-11-01 01:30:00 EST", "2026-11-01 02:00:00 EST",
				"2026-11-01 02:30:00 EST", "2026-11-01 03:00:00 EST", "2026-11-01 03:30:00 EST",
				"2026-11-01 04:00:00 EST", "2026-11-02 01:00:00 EST"},
		},
		{
			name: "start of day in the gap moves forward", zone: "America/New_York",
			start: "2026-03-08T00:00:00Z", from: "02:30:00", to: "06:00:00", interval: 1, unit: "hour",
			want: []string{"2026-03-08 03:30:00 EDT", "2026-03-08 04:30:00 EDT", "2026-03-08 05:30:00 EDT",
				"2026-03-09 02:30:00 EDT", "2026-03-09 03:30:00 EDT"},
		},
		{
			name: "berlin", zone: "Europe/Berlin",
			start: "2026-03-29T00:00:00Z", from: "02:30:00", to: "05:00:00", interval: 1, unit: "hour",
			want: []string{"2026-03-29 03:30:00 CEST", "2026-03-29 04:30:00 CEST", "2026-03-30 02:30:00 CEST",
				"2026-03-30 03:30:00 CEST", "2026-03-30 04:30:00 CEST"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Spec{Kind: KindDailyTimeInterval, TimeZone: c.zone, StartAt: ptr(at(t, c.start)),
				StartTimeOfDay: c.from, EndTimeOfDay: c.to, Interval: Interval{Count: c.interval, IsCount: true}, Unit: c.unit}
			require.Equal(t, c.want, fires(t, s, len(c.want)))
		})
	}
}
