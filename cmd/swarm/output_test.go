package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/scheduler"
)

func TestFmtDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0:                             "0s",
		850 * time.Millisecond:        "850ms",
		12340 * time.Millisecond:      "12.3s",
		4*time.Minute + 5*time.Second: "4m5s",
		2*time.Hour + 10*time.Minute:  "2h10m",
		2*time.Hour + 59*time.Minute + 50*time.Second: "3h0m",
		76 * time.Hour:           "3d4h",
		-1500 * time.Millisecond: "1.5s",
	}
	for d, want := range cases {
		require.Equal(t, want, fmtDuration(d), "duration %s", d)
	}
}

func TestFmtTime(t *testing.T) {
	require.Equal(t, "-", fmtTime(nil))
	require.Equal(t, "-", fmtTime(&time.Time{}))
	at := time.Date(2026, 12, 3, 17, 5, 0, 999, time.FixedZone("X", 3600))
	require.Equal(t, "2026-12-03 16:05:00", fmtTime(&at), "shown in local time (UTC in tests)")
}

func TestFmtTrigger(t *testing.T) {
	two := int64(2)
	cases := []struct {
		spec scheduler.Spec
		want string
	}{
		{scheduler.Spec{Kind: "cron", Cron: "0 0 2 * * ?", TimeZone: "UTC"}, "cron 0 0 2 * * ?"},
		{scheduler.Spec{Kind: "simple", Interval: scheduler.Interval{Duration: 90 * time.Minute}, RepeatCount: &two}, "every 1h30m x3"},
		{scheduler.Spec{Kind: "daily_time_interval", Interval: scheduler.Interval{Count: 15, IsCount: true}, Unit: "minute",
			DaysOfWeek: []string{"MON", "FRI"}, StartTimeOfDay: "08:00:00", TimeZone: "America/New_York"},
			"every 15 minute MON,FRI 08:00:00-23:59:59 America/New_York"},
		{scheduler.Spec{Kind: "calendar_interval", Interval: scheduler.Interval{Count: 1, IsCount: true}, Unit: "month", Calendar: "holidays"},
			"every 1 month calendar holidays"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, fmtTrigger(tc.spec))
	}
}

func TestWriteYAMLKeepsJSONNamesOrderAndTypes(t *testing.T) {
	v := struct {
		Name   string            `json:"name"`
		Count  int               `json:"count"`
		Ratio  float64           `json:"ratio"`
		Output string            `json:"output"`
		Data   map[string]string `json:"data"`
		List   []string          `json:"list"`
		None   *int              `json:"none"`
	}{"job", 3, 1.5, "line 1\nline 2", map[string]string{"num": "123", "b": "yes", "e": "", "n": "n"}, []string{"a"}, nil}

	var buf bytes.Buffer
	require.NoError(t, writeYAML(&buf, v))
	require.Equal(t, `name: job
count: 3
ratio: 1.5
output: |-
  line 1
  line 2
data:
  b: "yes"
  e: ""
  "n": "n"
  num: "123"
list:
  - a
none: null
`, buf.String())
}

func TestTableKeepsCellsOnOneLine(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "A", "B")
	tb.row("x\ty", "")
	require.NoError(t, tb.flush())
	require.Equal(t, "A    B\nx y  -\n", buf.String())
}
