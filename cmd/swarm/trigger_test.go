package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
)

func TestTriggerPreview(t *testing.T) {
	f := newFakeAPI(t)

	out := f.run(t, "trigger", "preview", "--cron", "0 0 * * * ?", "--time-zone", "Europe/Berlin",
		"--count", "3", "--from", "2026-12-03T17:05:00Z").ok(t)
	require.Equal(t, ""+
		"#  UTC                      LOCAL (Europe/Berlin)\n"+
		"1  Thu 2026-12-03 18:05:00  Thu 2026-12-03 19:05:00 +01:00\n"+
		"2  Thu 2026-12-03 19:05:00  Thu 2026-12-03 20:05:00 +01:00\n"+
		"3  Thu 2026-12-03 20:05:00  Thu 2026-12-03 21:05:00 +01:00\n", out)
	f.with(func() {
		require.JSONEq(t, `{"trigger":{"kind":"cron","cron":"0 0 * * * ?","time_zone":"Europe/Berlin"},"count":3,"from":"2026-12-03T17:05:00Z"}`,
			string(f.lastBody))
	})

	// In UTC there is no second column.
	out = f.run(t, "trigger", "preview", "--every", "90m", "--count", "1").ok(t)
	require.Equal(t, "#  UTC\n1  Thu 2026-12-03 18:05:00\n", out)
}

func TestTriggerPreviewJSONIsTheServersAnswer(t *testing.T) {
	f := newFakeAPI(t)

	out := f.run(t, "trigger", "preview", "-o", "json", "--count", "2",
		"--trigger", `{"kind":"daily_time_interval","interval":15,"unit":"minute","time_zone":"UTC"}`, "--time-zone", "Asia/Tokyo").ok(t)
	var sent api.PreviewResponse
	f.with(func() {
		require.JSONEq(t, string(f.preview), out)
		require.NoError(t, json.Unmarshal(f.lastBody, &struct{}{}))
		require.Contains(t, string(f.lastBody), `"time_zone":"Asia/Tokyo"`, "a shorthand flag overrides --trigger")
		require.Contains(t, string(f.lastBody), `"interval":15`)
		require.NoError(t, json.Unmarshal(f.preview, &sent))
	})
	require.Len(t, sent.FireTimes, 2)
}

func TestTriggerPreviewErrors(t *testing.T) {
	f := newFakeAPI(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--cron", "0 0"}, `invalid trigger.cron: "0 0" needs at least 6 fields`},
		{nil, "which trigger? pass --cron EXPR, --every DURATION or --trigger JSON"},
		{[]string{"--trigger", `{"kind":"cron","crn":"x"}`}, `--trigger: json: unknown field "crn"`},
		{[]string{"--every", "1s", "--from", "yesterday"}, "--from: want an RFC 3339 time"},
		{[]string{"--every", "1s", "--count", "0"}, "--count: must be at least 1"},
		{[]string{"--every", "1s", "--time-zone", "Mars/Olympus"}, `invalid trigger.time_zone: unknown zone "Mars/Olympus"`},
	}
	for _, tc := range cases {
		r := f.run(t, append([]string{"trigger", "preview"}, tc.args...)...)
		require.Error(t, r.err, "args %v", tc.args)
		require.Contains(t, r.err.Error(), tc.want)
	}
}
