package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
)

// seedExecutions gives job g/n executions e5 (newest) .. e1.
func seedExecutions(t *testing.T, f *fakeAPI) {
	t.Helper()
	f.run(t, "job", "create", "--group", "g", "--name", "n", "--every", "1m", "--exec", "true").ok(t)
	base := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var list []api.Execution
	for i := 5; i >= 1; i-- {
		sched := base.Add(time.Duration(i) * time.Minute)
		fired, started, finished := sched.Add(20*time.Millisecond), sched.Add(50*time.Millisecond), sched.Add(2*time.Minute+5*time.Second)
		code := i % 2
		e := api.Execution{ID: fmt.Sprintf("e%d", i), Job: "g/n", ScheduledAt: sched, FiredAt: &fired, StartedAt: &started,
			FinishedAt: &finished, State: api.ExecSucceeded, Attempt: 1, Client: "worker-7", ExitCode: &code}
		list = append(list, e)
	}
	list[0].State, list[0].ExitCode, list[0].FinishedAt, list[0].Output = api.ExecRunning, nil, nil, "line one\nline two\n"
	list[4].State, list[4].Reason, list[4].ExitCode, list[4].StartedAt = api.ExecSkipped, api.ReasonNoClient, nil, nil
	f.with(func() {
		f.execs["g/n"] = list
		f.logs["e5"] = "hello from e5\n"
	})
}

func TestExecList(t *testing.T) {
	f := newFakeAPI(t)
	seedExecutions(t, f)

	out := f.run(t, "exec", "list", "--job", "g/n").ok(t)
	require.Equal(t, ""+
		"ID  STATE                SCHEDULED            FIRED                DURATION  CLIENT    EXIT\n"+
		"e5  running              2026-12-03 10:05:00  2026-12-03 10:05:00  -         worker-7  -\n"+
		"e4  succeeded            2026-12-03 10:04:00  2026-12-03 10:04:00  2m5s      worker-7  0\n"+
		"e3  succeeded            2026-12-03 10:03:00  2026-12-03 10:03:00  2m5s      worker-7  1\n"+
		"e2  succeeded            2026-12-03 10:02:00  2026-12-03 10:02:00  2m5s      worker-7  0\n"+
		"e1  skipped (no_client)  2026-12-03 10:01:00  2026-12-03 10:01:00  -         worker-7  -\n", out)

	r := f.run(t, "exec", "list", "g/n", "--limit", "2")
	require.Contains(t, r.ok(t), "e4")
	require.NotContains(t, r.stdout, "e3")
	require.Equal(t, "more executions: pass --all, or --cursor e4 for the next page\n", r.stderr)

	var all []api.Execution
	require.NoError(t, json.Unmarshal([]byte(f.run(t, "exec", "list", "g/n", "--limit", "2", "--all", "-o", "json").ok(t)), &all))
	var ids []string
	for _, e := range all {
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{"e5", "e4", "e3", "e2", "e1"}, ids, "newest first, across pages")

	require.EqualError(t, f.run(t, "exec", "list", "--job", "g/none").err, "job g/none not found")
	require.EqualError(t, f.run(t, "exec", "list").err, "which job? pass --job GROUP/NAME")
	require.ErrorContains(t, f.run(t, "exec", "list", "--job", "nokey").err, `--job: "nokey" is not GROUP/NAME`)
}

func TestExecGetLogsKill(t *testing.T) {
	f := newFakeAPI(t)
	seedExecutions(t, f)

	out := f.run(t, "exec", "get", "e5").ok(t)
	require.Contains(t, out, "STATE      running\n")
	require.Contains(t, out, "CLIENT     worker-7\n")
	require.Contains(t, out, "OUTPUT\nline one\nline two\n")
	require.NotContains(t, out, "FINISHED", "unset fields are left out")

	var e api.Execution
	require.NoError(t, json.Unmarshal([]byte(f.run(t, "exec", "get", "e4", "-o", "json").ok(t)), &e))
	require.Equal(t, "e4", e.ID)

	require.Equal(t, "hello from e5\nfollow=\n", f.run(t, "exec", "logs", "e5").ok(t))
	require.Equal(t, "hello from e5\nfollow=true\n", f.run(t, "exec", "logs", "--follow", "e5").ok(t))

	require.Equal(t, "kill requested for execution e5\n", f.run(t, "exec", "kill", "e5").ok(t))
	f.with(func() { require.Equal(t, []string{"e5"}, f.killed) })

	for _, verb := range []string{"get", "logs", "kill"} {
		require.EqualError(t, f.run(t, "exec", verb, "nope").err, "execution nope not found", verb)
	}
}
