package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
)

// TestQuickStart does what the README tells a new user: a single server
// with a local worker, a job that echoes every second, its executions.
func TestQuickStart(t *testing.T) {
	s := startServer(t, t.TempDir(), "--local-client")

	created := time.Now()
	cli(t, s.http, "job", "create", "--group", "demo", "--name", "hello", "--cron", "*/1 * * * * ?", "--exec", "echo hello")

	var ok []api.Execution
	require.Eventually(t, func() bool {
		ok = ok[:0]
		for _, e := range executions(t, s.http, "demo/hello") {
			if e.State == api.ExecSucceeded && e.Output == "hello\n" && e.ExitCode != nil && *e.ExitCode == 0 {
				ok = append(ok, e)
			}
		}
		return len(ok) >= 8
	}, 15*time.Second, 250*time.Millisecond)
	require.Less(t, time.Since(created), 12*time.Second, "8 runs of an every-second job took too long")

	slots := map[time.Time]bool{}
	for _, e := range ok {
		require.False(t, slots[e.ScheduledAt], "slot %s ran twice", e.ScheduledAt)
		slots[e.ScheduledAt] = true
	}
}

// TestEverySecondOnceAndRestartAfterKill checks, from what the job itself
// recorded, that each scheduled second ran once; then SIGKILLs the server,
// restarts it on its data dir, and checks the job is there and fires again
// within 10 seconds.
func TestEverySecondOnceAndRestartAfterKill(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "sink.txt")
	s := startServer(t, dir, "--local-client")
	cli(t, s.http, "job", "create", "--group", "demo", "--name", "stamp", "--cron", "* * * * * ?",
		"--shell", "--exec", fmt.Sprintf(`echo "$SWARM_JOB $SWARM_SCHEDULED_AT" >> %s`, out))

	require.Eventually(t, func() bool { return len(sink(t, out)["demo/stamp"]) >= 5 }, 15*time.Second, 200*time.Millisecond)
	s.kill()
	before := sink(t, out)["demo/stamp"]

	s.restart(t, "--local-client")
	restarted := time.Now()
	require.Contains(t, cli(t, s.http, "job", "get", "demo/stamp"), "demo/stamp")
	require.Eventually(t, func() bool {
		return len(sink(t, out)["demo/stamp"]) >= len(before)+3
	}, 10*time.Second, 200*time.Millisecond, "no fire within 10 s of the restart")
	t.Logf("fires resumed %s after the restart", time.Since(restarted).Round(time.Millisecond))

	requireEachSecondOnce(t, sink(t, out)["demo/stamp"])
}

// requireEachSecondOnce asserts that no scheduled second ran twice and none
// between the first and the last is missing.
func requireEachSecondOnce(t *testing.T, runs map[string]int) {
	t.Helper()
	var times []time.Time
	for at, n := range runs {
		require.Equal(t, 1, n, "second %s ran %d times", at, n)
		ts, err := time.Parse(time.RFC3339Nano, at)
		require.NoError(t, err)
		times = append(times, ts)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 1; i < len(times); i++ {
		require.Equal(t, time.Second, times[i].Sub(times[i-1]), "missing seconds between %s and %s", times[i-1], times[i])
	}
}
