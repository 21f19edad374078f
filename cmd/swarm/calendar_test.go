package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/scheduler"
)

func TestCalendarCommands(t *testing.T) {
	f := newFakeAPI(t)
	file := writeFile(t, t.TempDir(), "weekend.yaml", "name: weekend\nkind: weekly\ndays: [SAT, SUN]\ntime_zone: Europe/Berlin\n")

	out := f.run(t, "calendar", "create", "--name", "holidays", "--kind", "holiday",
		"--date", "2026-12-25,2027-01-01", "--date", "2027-12-25", "--description", "days off").ok(t)
	require.Equal(t, ""+
		"NAME      KIND     EXCLUDES                          TIME ZONE  BASE  DESCRIPTION\n"+
		"holidays  holiday  2026-12-25,2027-01-01,2027-12-25  -          -     days off\n", out)

	f.run(t, "calendar", "create", "-f", file, "--base", "holidays").ok(t)
	f.with(func() {
		require.Equal(t, scheduler.CalendarSpec{Name: "weekend", Kind: "weekly", Days: []string{"SAT", "SUN"},
			TimeZone: "Europe/Berlin", Base: "holidays"}, f.calendars["weekend"])
	})

	f.run(t, "calendar", "create", "--name", "night", "--kind", "daily", "--range-start", "22:00", "--range-end", "06:00", "--invert").ok(t)
	out = f.run(t, "calendar", "get", "night").ok(t)
	require.Contains(t, out, "night  daily  all but 22:00-06:00")

	var cals []scheduler.CalendarSpec
	require.NoError(t, json.Unmarshal([]byte(f.run(t, "calendar", "list", "-o", "json").ok(t)), &cals))
	require.Len(t, cals, 3)
	require.Equal(t, "holidays", cals[0].Name)

	require.Equal(t, "deleted calendar night\n", f.run(t, "calendar", "delete", "night").ok(t))
	require.EqualError(t, f.run(t, "calendar", "get", "night").err, "calendar night not found")
	require.EqualError(t, f.run(t, "calendar", "delete", "night").err, "calendar night not found")
	require.EqualError(t, f.run(t, "calendar", "create", "--kind", "daily").err, "a calendar needs --name and --kind (or -f FILE)")
	require.EqualError(t, f.run(t, "calendar", "create", "--name", "holidays", "--kind", "holiday").err, "calendar holidays already exists")
}
