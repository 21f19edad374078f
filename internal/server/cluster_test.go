package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/pprof"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/server"
	"github.com/swarmsched/swarm/shard"
)

// startMember runs one server of a test cluster; join is empty for the
// first.
func startMember(t *testing.T, dir string, join ...string) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{
		DataDir:           dir,
		HTTPAddr:          "127.0.0.1:0",
		RaftAddr:          "127.0.0.1:0",
		GossipAddr:        "127.0.0.1:0",
		Join:              join,
		Shards:            4,
		Replicas:          3,
		ShardTimers:       shard.FastTimers,
		MetaTimers:        shard.FastTimers,
		Heartbeat:         time.Second,
		DeadServerTimeout: 3 * time.Second,
		Logger:            bufferedLogger(t),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, s.Start(ctx))
	return s
}

func startCluster(t *testing.T, n int) []*server.Server {
	t.Helper()
	first := startMember(t, t.TempDir())
	out := []*server.Server{first}
	for range n - 1 {
		out = append(out, startMember(t, t.TempDir(), first.HTTPAddr()))
	}
	t.Cleanup(func() {
		for _, s := range out {
			s.Stop()
		}
	})
	return out
}

func clusterOf(t *testing.T, s *server.Server) api.Cluster {
	t.Helper()
	var c api.Cluster
	require.Equal(t, http.StatusOK, do(t, "GET", "http://"+s.HTTPAddr()+"/v1/cluster", nil, &c))
	return c
}

var statusHTTP = &http.Client{Timeout: 5 * time.Second}

// tryCluster reads GET /v1/cluster without failing the test.
func tryCluster(s *server.Server) (api.Cluster, error) {
	var c api.Cluster
	resp, err := statusHTTP.Get("http://" + s.HTTPAddr() + "/v1/cluster")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("status %d", resp.StatusCode)
	}
	return c, json.NewDecoder(resp.Body).Decode(&c)
}

// waitReplicated waits until every shard has want replicas, all voting,
// on distinct live servers, and a leader.
func waitReplicated(t *testing.T, s *server.Server, want int, within time.Duration) api.Cluster {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := tryCluster(s)
		if err == nil && replicated(c, want) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not replicate within %s: %+v (error %v)\n%s", within, c, err, swarmStacks())
		}
		<-time.After(100 * time.Millisecond)
	}
}

func replicated(c api.Cluster, want int) bool {
	if c.UnderReplicated != 0 || len(c.Shards) == 0 {
		return false
	}
	for _, sh := range c.Shards {
		if len(sh.Replicas) != want || len(sh.Voters) != want || sh.Leader == "" {
			return false
		}
	}
	return true
}

func leadersByServer(c api.Cluster) map[string]int {
	out := map[string]int{}
	for _, sh := range c.Shards {
		out[sh.Leader]++
	}
	return out
}

func TestClusterJoinReplicatesAndSpreadsLeaders(t *testing.T) {
	servers := startCluster(t, 3)
	c := waitReplicated(t, servers[2], 3, 15*time.Second)
	require.Len(t, c.Servers, 3)
	for _, sh := range c.Shards {
		ids := append([]string(nil), sh.Replicas...)
		sort.Strings(ids)
		require.Len(t, ids, 3)
	}
	require.Eventually(t, func() bool {
		c, err := tryCluster(servers[0])
		return err == nil && len(leadersByServer(c)) >= 2 // 4 shards over 3 servers: spread, not piled on the first
	}, 15*time.Second, 100*time.Millisecond)
}

func TestClusterServesAnyRequestOnAnyServer(t *testing.T) {
	servers := startCluster(t, 3)
	waitReplicated(t, servers[0], 3, 15*time.Second)

	// Create through one server, read through the others: the requests are
	// proxied to each job's shard leader.
	for i := range 8 {
		j := cronJob(fmt.Sprintf("any-%d", i))
		j.Trigger = schedulerSpec("0 0 0 1 1 ? 2099")
		require.Equal(t, http.StatusCreated, do(t, "POST", "http://"+servers[i%3].HTTPAddr()+"/v1/jobs", j, nil))
	}
	for i := range 8 {
		var got api.Job
		url := fmt.Sprintf("http://%s/v1/jobs/demo/any-%d", servers[(i+1)%3].HTTPAddr(), i)
		require.Equal(t, http.StatusOK, do(t, "GET", url, nil, &got))
		require.Equal(t, fmt.Sprintf("any-%d", i), got.Name)
	}
	var list api.JobList
	require.Equal(t, http.StatusOK, do(t, "GET", "http://"+servers[2].HTTPAddr()+"/v1/jobs?group=demo", nil, &list))
	require.Len(t, list.Jobs, 8)
}

// TestClusterFailoverFiresEverySlotOnce stops the server that leads the
// most shards while jobs fire every second on a worker connected to
// another server; every scheduled second of every job must run once.
func TestClusterFailoverFiresEverySlotOnce(t *testing.T) {
	servers := startCluster(t, 3)
	c := waitReplicated(t, servers[0], 3, 15*time.Second)

	leaders := leadersByServer(c)
	victim := 0
	for i, s := range servers {
		if leaders[s.NodeID()] > leaders[servers[victim].NodeID()] {
			victim = i
		}
	}
	other := servers[(victim+1)%3]
	w := dialWorker(t, other.HTTPAddr(), "w1")
	for i := range 6 {
		require.Equal(t, http.StatusCreated, do(t, "POST", "http://"+other.HTTPAddr()+"/v1/jobs", cronJob(fmt.Sprintf("f-%d", i)), nil))
	}

	runs := newRunLog()
	collect := func(d time.Duration) {
		deadline := time.After(d)
		for {
			select {
			case f := <-w.fires:
				runs.add(f.Job, f.ScheduledAt, f.ExecID)
			case <-deadline:
				return
			}
		}
	}
	collect(3 * time.Second)
	stopAt := time.Now()
	servers[victim].Stop()
	collect(12 * time.Second)

	// Every second from the first to the last seen fire ran exactly once
	// per job, through the failover.
	runs.requireEverySlotOnce(t, 6, stopAt)
}

type runLog struct {
	slots map[string]map[time.Time]map[string]bool // job -> slot -> exec ids
}

func newRunLog() *runLog { return &runLog{slots: map[string]map[time.Time]map[string]bool{}} }

func (r *runLog) add(job string, at time.Time, execID string) {
	if r.slots[job] == nil {
		r.slots[job] = map[time.Time]map[string]bool{}
	}
	if r.slots[job][at] == nil {
		r.slots[job][at] = map[string]bool{}
	}
	r.slots[job][at][execID] = true
}

func (r *runLog) requireEverySlotOnce(t *testing.T, jobs int, mustSpan time.Time) {
	t.Helper()
	require.Len(t, r.slots, jobs)
	for job, slots := range r.slots {
		var times []time.Time
		for at, ids := range slots {
			require.Len(t, ids, 1, "%s slot %s ran as %d executions", job, at, len(ids))
			times = append(times, at)
		}
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		require.True(t, times[0].Before(mustSpan) && times[len(times)-1].After(mustSpan.Add(5*time.Second)),
			"%s: fires from %s to %s do not span the failover at %s", job, times[0], times[len(times)-1], mustSpan)
		for i := 1; i < len(times); i++ {
			require.Equal(t, time.Second, times[i].Sub(times[i-1]), "%s: missed slots between %s and %s", job, times[i-1], times[i])
		}
	}
}

func TestClusterLeaveMovesReplicasAway(t *testing.T) {
	servers := startCluster(t, 4)
	waitReplicated(t, servers[0], 3, 20*time.Second)
	leaving := servers[3]

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	require.NoError(t, leaving.Leave(ctx))

	c := waitReplicated(t, servers[0], 3, 20*time.Second)
	for _, sh := range c.Shards {
		require.NotContains(t, sh.Replicas, leaving.NodeID())
		require.NotEqual(t, leaving.NodeID(), sh.Leader)
	}
}

// swarmStacks returns the stacks of the goroutines in swarm's code, to
// see what a stuck server waits on.
func swarmStacks() string {
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	var out []string
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "swarmsched/swarm/") && !strings.Contains(g, "_test.go") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
