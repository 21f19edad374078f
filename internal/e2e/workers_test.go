package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/scheduler"
)

// workerEnv is a single server with a short client grace, and helpers to
// start workers and make jobs.
type workerEnv struct {
	t   *testing.T
	srv *server
	api *api.RESTClient
}

func newWorkerEnv(t *testing.T) *workerEnv {
	s := startServer(t, t.TempDir(), "--client-grace", "3s")
	return &workerEnv{t: t, srv: s, api: restClient(t, s.http)}
}

func (e *workerEnv) worker(id, group string, extra ...string) *proc {
	e.t.Helper()
	p := start(e.t, append([]string{"client", "--server", e.srv.http, "--id", id, "--group", group, "--drain-timeout", "1s"}, extra...)...)
	e.waitClients(group, id)
	return p
}

// waitClients waits until every id is connected in group.
func (e *workerEnv) waitClients(group string, ids ...string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		list, err := e.api.ListClients(context.Background(), api.ListClientsOptions{Group: group})
		if err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, c := range list.Clients {
			seen[c.ID] = true
		}
		for _, id := range ids {
			if !seen[id] {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "workers %v of %s did not connect", ids, group)
}

// job creates a job that fires only when triggered (or per trigger).
func (e *workerEnv) job(j api.Job) {
	e.t.Helper()
	if j.Trigger.Kind == "" {
		j.Trigger = scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 0 1 1 ? 2099"}
	}
	if j.Group == "" {
		j.Group = "w"
	}
	_, err := e.api.CreateJob(context.Background(), &j)
	require.NoError(e.t, err)
}

func (e *workerEnv) trigger(name string) []string {
	e.t.Helper()
	ids, err := e.api.TriggerJob(context.Background(), "w", name)
	require.NoError(e.t, err)
	return ids
}

// waitExec waits until an execution reaches one of the states.
func (e *workerEnv) waitExec(id string, within time.Duration, states ...string) api.Execution {
	e.t.Helper()
	var x *api.Execution
	require.Eventually(e.t, func() bool {
		var err error
		x, err = e.api.GetExecution(context.Background(), id)
		if err != nil {
			return false
		}
		for _, s := range states {
			if x.State == s {
				return true
			}
		}
		return false
	}, within, 100*time.Millisecond, "execution %s never reached %v (last %+v)", id, states, x)
	return *x
}

func sh(script string) api.Executor {
	return api.Executor{Kind: api.ExecutorProcess, Command: script, Shell: true}
}

func pidAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestTimeoutKillsTheProcessTree: a run past its timeout is killed with
// the child it spawned, and recorded timed_out.
func TestTimeoutKillsTheProcessTree(t *testing.T) {
	e := newWorkerEnv(t)
	e.worker("w1", "default")
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	e.job(api.Job{Name: "slow", Timeout: api.Duration(2 * time.Second),
		Executor: sh(fmt.Sprintf("sleep 60 & echo $! > %s; sleep 60", pidFile))})

	id := e.trigger("slow")[0]
	x := e.waitExec(id, 20*time.Second, api.ExecTimedOut, api.ExecFailed, api.ExecSucceeded)
	require.Equal(t, api.ExecTimedOut, x.State)
	raw, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	child, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !pidAlive(child) }, 10*time.Second, 50*time.Millisecond, "the child %d outlived the timeout", child)
}

// TestForbidSkipsOverlappingRuns: with concurrency forbid, a fire while
// the previous run still runs is recorded skipped.
func TestForbidSkipsOverlappingRuns(t *testing.T) {
	e := newWorkerEnv(t)
	e.worker("w1", "default", "--capacity", "4")
	e.job(api.Job{Name: "overlap", Concurrency: api.ConcurrencyForbid, Executor: sh("sleep 3"),
		Trigger: scheduler.Spec{Kind: scheduler.KindCron, Cron: "* * * * * ?"}})
	require.Eventually(t, func() bool {
		list, err := e.api.ListExecutions(context.Background(), "w", "overlap", api.ListOptions{Limit: 100})
		if err != nil {
			return false
		}
		running := 0
		skipped := 0
		for _, x := range list.Executions {
			if x.State == api.ExecSkipped && x.Reason == api.ReasonConcurrency {
				skipped++
			}
			if x.State == api.ExecRunning {
				running++
			}
		}
		require.LessOrEqual(t, running, 1, "two runs at once under forbid")
		return skipped >= 2
	}, 20*time.Second, 200*time.Millisecond)
}

// TestReplaceKillsTheRunningOne: under replace each new fire stops the
// run before it, which ends killed; at most one runs at a time.
func TestReplaceKillsTheRunningOne(t *testing.T) {
	e := newWorkerEnv(t)
	e.worker("r1", "default", "--capacity", "4")
	e.job(api.Job{Name: "newest", Concurrency: api.ConcurrencyReplace, Executor: sh("sleep 30"),
		Trigger: scheduler.Spec{Kind: scheduler.KindCron, Cron: "*/2 * * * * ?"}})
	require.Eventually(t, func() bool {
		list, err := e.api.ListExecutions(context.Background(), "w", "newest", api.ListOptions{Limit: 100})
		if err != nil {
			return false
		}
		killed := 0
		for _, x := range list.Executions {
			if x.State == api.ExecKilled {
				killed++
			}
		}
		return killed >= 2
	}, 30*time.Second, 200*time.Millisecond)

	list, err := e.api.ListExecutions(context.Background(), "w", "newest", api.ListOptions{Limit: 100})
	require.NoError(t, err)
	for _, x := range list.Executions {
		require.NotEqual(t, api.ExecSucceeded, x.State, "a replaced run finished: %s", x.ID)
		if x.State == api.ExecKilled {
			require.Contains(t, x.Error, protocol.KillReplaced, "%s", x.ID)
		}
	}
}

// TestBroadcastReachesEveryWorker: one fire, one piece per connected
// worker of the group.
func TestBroadcastReachesEveryWorker(t *testing.T) {
	e := newWorkerEnv(t)
	for _, id := range []string{"b1", "b2", "b3"} {
		e.worker(id, "bc")
	}
	e.job(api.Job{Name: "all", ClientGroup: "bc", Routing: api.RoutingBroadcast, Executor: sh("echo $SWARM_PIECE_INDEX")})
	ids := e.trigger("all")
	require.Len(t, ids, 3)
	clients := map[string]bool{}
	for _, id := range ids {
		x := e.waitExec(id, 20*time.Second, api.ExecSucceeded)
		clients[x.Client] = true
	}
	require.Equal(t, map[string]bool{"b1": true, "b2": true, "b3": true}, clients)
}

// TestShardedFireRunsEveryPieceWithItsParameter: four pieces over two
// workers, each told its index, count and parameter.
func TestShardedFireRunsEveryPieceWithItsParameter(t *testing.T) {
	e := newWorkerEnv(t)
	e.worker("s1", "sh")
	e.worker("s2", "sh")
	e.job(api.Job{Name: "split", ClientGroup: "sh", ShardingCount: 4, ShardingParameters: []string{"a", "b", "c", "d"},
		Executor: sh(`echo "$SWARM_PIECE_INDEX/$SWARM_PIECE_COUNT=$SWARM_PIECE_PARAMETER"`)})
	ids := e.trigger("split")
	require.Len(t, ids, 4)
	var got []string
	clients := map[string]bool{}
	for _, id := range ids {
		x := e.waitExec(id, 20*time.Second, api.ExecSucceeded)
		got = append(got, strings.TrimSpace(x.Output))
		clients[x.Client] = true
	}
	sort.Strings(got)
	require.Equal(t, []string{"0/4=a", "1/4=b", "2/4=c", "3/4=d"}, got)
	require.Len(t, clients, 2, "the pieces spread over both workers")
}

// TestClientLabelsNarrowTheGroup: only workers with the labels run it.
func TestClientLabelsNarrowTheGroup(t *testing.T) {
	e := newWorkerEnv(t)
	e.worker("eu", "lab", "--label", "zone=eu")
	e.worker("us", "lab", "--label", "zone=us")
	e.job(api.Job{Name: "eu-only", ClientGroup: "lab", Routing: api.RoutingClientLabels, ClientLabels: map[string]string{"zone": "eu"}, Executor: sh("true")})
	for range 4 {
		x := e.waitExec(e.trigger("eu-only")[0], 20*time.Second, api.ExecSucceeded)
		require.Equal(t, "eu", x.Client)
	}
}

// TestKilledWorkerLosesItsRunWhichRetriesElsewhere: SIGKILL of a worker
// mid-run: after the grace period the run is lost, and with retries the
// next attempt runs on the other worker.
func TestKilledWorkerLosesItsRunWhichRetriesElsewhere(t *testing.T) {
	e := newWorkerEnv(t)
	first := e.worker("k1", "kg", "--capacity", "1")
	e.job(api.Job{Name: "retry", ClientGroup: "kg", Executor: sh("sleep 5"),
		Retries: api.Retries{Max: 2, Backoff: api.Duration(time.Second)}})
	id := e.trigger("retry")[0]
	x := e.waitExec(id, 20*time.Second, api.ExecRunning)
	require.Equal(t, "k1", x.Client)

	first.kill()
	e.worker("k2", "kg")
	x = e.waitExec(id, 40*time.Second, api.ExecSucceeded)
	require.Equal(t, "k2", x.Client)
	require.Equal(t, 2, x.Attempt, "the lost attempt was retried as attempt 2")
}

// TestRestartedWorkerTakesBackItsProcess: a worker killed mid-run leaves
// its process running; restarted on its data dir, it takes the process
// back and reports its real exit code.
func TestRestartedWorkerTakesBackItsProcess(t *testing.T) {
	e := newWorkerEnv(t)
	data := t.TempDir()
	w := e.worker("r1", "rg", "--data-dir", data)
	e.job(api.Job{Name: "adopt", ClientGroup: "rg", Executor: sh("sleep 4; echo done; exit 7")})
	id := e.trigger("adopt")[0]
	e.waitExec(id, 20*time.Second, api.ExecRunning)

	w.kill() // the worker dies; its process, in its own group, lives on
	e.worker("r1", "rg", "--data-dir", data)
	x := e.waitExec(id, 30*time.Second, api.ExecFailed, api.ExecSucceeded, api.ExecLost)
	require.Equal(t, api.ExecFailed, x.State)
	require.NotNil(t, x.ExitCode)
	require.Equal(t, 7, *x.ExitCode, "the real exit code of the adopted process")
	require.Contains(t, x.Output, "done")
}
