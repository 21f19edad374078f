package shard

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/fsm"
)

// A leader that must leave its group asks each voting replica at most once
// per term to take over, and when every hand-over failed it removes itself
// (an election follows). Before, it asked the same replica every second,
// and a second transfer in a term could wedge hashicorp/raft (Handover).
func TestHandOffTriesEachReplicaOnceThenStepsDown(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	leader := c.waitLeader(t)
	others := c.others(leader)
	c.trans[leader].refuse()

	rc := c.reconciler(leader, fsm.ShardInfo{Replicas: others, Leader: others[0]})
	for i := range 2 {
		if err := rc.step(); err == nil {
			t.Fatalf("step %d: hand-over with TimeoutNow refused succeeded", i)
		}
	}
	removeItself(t, rc)

	for _, id := range others {
		if n := c.trans[leader].timeoutNows(id); n != 1 {
			t.Errorf("hand-overs asked of %s: %d, want 1", id, n)
		}
	}
	next := c.waitLeaderAmong(t, others)
	voters := c.voters(t, next)
	if slices.Contains(voters, leader) {
		t.Fatalf("voters after the old leader left: %v still holds %s", voters, leader)
	}
}

// removeItself runs the step after the failed hand-overs. raft answers a
// transfer's future a moment before it clears its "in progress" flag, and
// offers no signal for that, so the step is retried while raft says so
// (the reconciler itself retries every ReconcileEvery).
func removeItself(t *testing.T, rc *reconciler) {
	t.Helper()
	deadline := time.Now().Add(10 * FastTimers.Election)
	for {
		err := rc.step()
		if err == nil {
			return
		}
		if !errors.Is(err, raft.ErrLeadershipTransferInProgress) || time.Now().After(deadline) {
			t.Fatalf("step after the failed hand-overs (remove itself): %v", err)
		}
		time.Sleep(FastTimers.Heartbeat / 50)
	}
}

// A leader balancing leadership toward the preferred leader does not ask
// again in the same term after the transfer failed.
func TestPreferLeaderAsksOncePerTerm(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	leader := c.waitLeader(t)
	others := c.others(leader)
	c.trans[leader].refuse()

	rc := c.reconciler(leader, fsm.ShardInfo{Replicas: []string{"a", "b", "c"}, Leader: others[0]})
	if err := rc.step(); err == nil {
		t.Fatal("first transfer with TimeoutNow refused succeeded")
	}
	for i := range 3 {
		if err := rc.step(); err != nil {
			t.Fatalf("step %d after the failed transfer: %v", i, err)
		}
	}
	if n := c.trans[leader].timeoutNows(others[0]); n != 1 {
		t.Fatalf("transfers asked in one term: %d, want 1", n)
	}
	if c.rafts[leader].State() != raft.Leader {
		t.Fatalf("%s no longer leads: %v", leader, c.rafts[leader].State())
	}
}

// --- an in-memory Raft group of real raft.Raft members ---

type testCluster struct {
	ids   []string
	rafts map[string]*raft.Raft
	trans map[string]*countingTransport

	// changes receives the members' state and leader changes.
	changes chan raft.Observation
}

func newTestCluster(t *testing.T, ids ...string) *testCluster {
	t.Helper()
	c := &testCluster{ids: ids, rafts: map[string]*raft.Raft{}, trans: map[string]*countingTransport{}, changes: make(chan raft.Observation, 256)}
	var servers []raft.Server
	for _, id := range ids {
		_, tr := raft.NewInmemTransport(raft.ServerAddress(id))
		c.trans[id] = &countingTransport{InmemTransport: tr, calls: map[string]int{}}
		servers = append(servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(id)})
	}
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				c.trans[a].Connect(raft.ServerAddress(b), c.trans[b].InmemTransport)
			}
		}
	}
	for _, id := range ids {
		cfg := raftConfig(id, FastTimers, true)
		cfg.Logger = nil
		cfg.LogOutput = io.Discard
		store, snaps := raft.NewInmemStore(), raft.NewInmemSnapshotStore()
		if err := raft.BootstrapCluster(cfg, store, store, snaps, c.trans[id], raft.Configuration{Servers: servers}); err != nil {
			t.Fatalf("bootstrap %s: %v", id, err)
		}
		r, err := raft.NewRaft(cfg, nopFSM{}, store, store, snaps, c.trans[id])
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		r.RegisterObserver(raft.NewObserver(c.changes, false, func(o *raft.Observation) bool {
			switch o.Data.(type) {
			case raft.RaftState, raft.LeaderObservation:
				return true
			}
			return false
		}))
		c.rafts[id] = r
	}
	t.Cleanup(func() {
		for _, r := range c.rafts {
			r.Shutdown().Error()
		}
	})
	return c
}

func (c *testCluster) waitLeader(t *testing.T) string { return c.waitLeaderAmong(t, c.ids) }

// waitLeaderAmong waits on the members' state observations until one of
// ids leads.
func (c *testCluster) waitLeaderAmong(t *testing.T, ids []string) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, id := range ids {
			if c.rafts[id].State() == raft.Leader {
				return id
			}
		}
		select {
		case <-c.changes:
		case <-deadline:
			t.Fatalf("no leader among %v in 20 s", ids)
		}
	}
}

func (c *testCluster) others(id string) []string {
	return slices.DeleteFunc(slices.Clone(c.ids), func(s string) bool { return s == id })
}

func (c *testCluster) voters(t *testing.T, id string) []string {
	t.Helper()
	f := c.rafts[id].GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatalf("configuration: %v", err)
	}
	var out []string
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			out = append(out, string(s.ID))
		}
	}
	return out
}

func (c *testCluster) reconciler(self string, want fsm.ShardInfo) *reconciler {
	return &reconciler{self: self, r: c.rafts[self], m: testMembership{c: c, want: want}, log: slog.New(slog.DiscardHandler)}
}

type testMembership struct {
	c    *testCluster
	want fsm.ShardInfo
}

func (m testMembership) Desired(int) (fsm.ShardInfo, bool) { return m.want, true }
func (m testMembership) RaftAddr(id string) (string, bool) { return id, slices.Contains(m.c.ids, id) }

// Applied reports a member's last log index: every member holds the
// bootstrap entry, so each counts as caught up (CatchUpEntries).
func (m testMembership) Applied(_ int, id string) (uint64, bool) {
	return m.c.rafts[id].LastIndex(), true
}

// countingTransport counts the TimeoutNow requests (the last step of a
// leadership transfer) a member sends, and can refuse them.
type countingTransport struct {
	*raft.InmemTransport

	mu               sync.Mutex
	refuseTimeoutNow bool
	calls            map[string]int
}

func (t *countingTransport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	t.mu.Lock()
	t.calls[string(id)]++
	refuse := t.refuseTimeoutNow
	t.mu.Unlock()
	if refuse {
		return errors.New("timeout now refused by the test")
	}
	return t.InmemTransport.TimeoutNow(id, target, args, resp)
}

func (t *countingTransport) refuse() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refuseTimeoutNow = true
}

func (t *countingTransport) timeoutNows(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id]
}

type nopFSM struct{}

func (nopFSM) Apply(*raft.Log) any                 { return nil }
func (nopFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }
func (nopFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type nopSnapshot struct{}

func (nopSnapshot) Persist(s raft.SnapshotSink) error { return s.Close() }
func (nopSnapshot) Release()                          {}
