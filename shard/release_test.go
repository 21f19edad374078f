package shard

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/scheduler"
)

// applier commits commands straight into a real store, as a one-member
// group would.
type applier struct {
	mu    sync.Mutex
	store *fsm.Shard
	index uint64
}

func (a *applier) Propose(c *fsm.Command) (*fsm.Result, error) {
	data, err := fsm.Encode(c)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.index++
	out := a.store.ApplyBatch([]*raft.Log{{Index: a.index, Term: 1, Type: raft.LogCommand, Data: data}})
	res, _ := out[0].(*fsm.Result)
	return res, nil
}

func (a *applier) Barrier(time.Duration) error { return nil }
func (a *applier) VerifyLeader() error         { return nil }

// stuckPeer is a dispatcher whose first target sits behind a server that
// stopped answering: hand-overs to it never end, and after a while its
// client no longer shows as connected. Any other client is healthy.
type stuckPeer struct {
	mu        sync.Mutex
	stuck     string
	gone      bool
	delivered []string // clients handed a fire, in order
}

func (d *stuckPeer) Pick(*api.Job, int, map[string]bool, uint64) []Target {
	return []Target{{Client: "c3", Server: "s2"}}
}

func (d *stuckPeer) Deliver(_ context.Context, t Target, _ *protocol.Fire, done func(error)) {
	d.mu.Lock()
	d.delivered = append(d.delivered, t.Client)
	d.gone = d.gone || t.Client == d.stuck
	d.mu.Unlock()
	if t.Client != d.stuck {
		done(nil)
	}
}

func (d *stuckPeer) Connected(client string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return client != d.stuck || !d.gone
}

func (d *stuckPeer) Kill(string, string, string) {}

func (d *stuckPeer) targets() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.delivered...)
}

// TestReleaseNeverMovesAFireWhoseHandOverIsUnderWay reproduces a duplicate
// the fault-injection suite found: a fire handed to a worker behind a
// paused server, then re-released when its ack was overdue and the worker
// looked gone, went to a second worker under the same attempt; the first
// hand-over landed when the server resumed, and both ran it.
func TestReleaseNeverMovesAFireWhoseHandOverIsUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, err := fsm.OpenShard(0, filepath.Join(t.TempDir(), "fsm.db"))
		require.NoError(t, err)
		defer store.Close()
		a := &applier{store: store}

		now := time.Now()
		job := api.Job{Group: "g", Name: "a", ID: "00000000000000aa",
			Trigger:  scheduler.Spec{Kind: scheduler.KindSimple, Interval: scheduler.Interval{Duration: time.Hour}},
			Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"}}
		res, err := a.Propose(&fsm.Command{Type: fsm.CmdPutJob, NowMS: now.UnixMilli(), PutJob: &fsm.PutJob{
			Job: job, Mode: fsm.PutCreate, Trigger: scheduler.State{Next: now.Add(time.Hour), Start: now}}})
		require.NoError(t, err)
		require.Nil(t, res.Err)
		rec := res.Job
		id := fsm.ExecID{Shard: 0, JobID: 0xaa, ScheduledMS: now.UnixMilli()}.String()
		res, err = a.Propose(&fsm.Command{Type: fsm.CmdFireBatch, NowMS: now.UnixMilli(), FireBatch: &fsm.FireBatch{
			Term: 1,
			Items: []fsm.FireItem{{Key: rec.Job.Key(), Version: rec.Job.Version, DueMS: rec.DueMS,
				Next:  scheduler.State{Next: now.Add(2 * time.Hour), Prev: now, Times: 1},
				Execs: []fsm.NewExec{{ID: id, ScheduledMS: now.UnixMilli(), Target: "c2", Server: "s1"}}}},
		}})
		require.NoError(t, err)
		require.Nil(t, res.Err)

		d := &stuckPeer{stuck: "c2"}
		f, err := NewFirer(FirerConfig{NodeID: "s3", Dispatcher: d}, store, a, a, 1)
		require.NoError(t, err)
		f.Start(t.Context())
		defer f.Stop()

		// Past two ack timeouts: the overdue fire is released again, while
		// its first hand-over has still not ended.
		time.Sleep(2*DefaultAckTimeout + time.Second)
		synctest.Wait()

		got := d.targets()
		require.NotEmpty(t, got)
		require.NotContains(t, got, "c3", "the fire moved to another worker while its hand-over to c2 was under way")
		e, err := store.Exec(id)
		require.NoError(t, err)
		require.Equal(t, "c2", e.Target)
	})
}

func TestReleaseQueueTracksHandOvers(t *testing.T) {
	q := newReleaseQueue()
	require.False(t, q.mayHaveReached("a"))

	q.handOver("a")
	q.handOver("a")
	require.True(t, q.mayHaveReached("a"), "under way")
	q.handedOver("a", false)
	require.True(t, q.mayHaveReached("a"), "one of two still under way")
	q.handedOver("a", false)
	require.False(t, q.mayHaveReached("a"), "both certainly failed")

	q.handOver("a")
	q.handedOver("a", true)
	require.True(t, q.mayHaveReached("a"), "reached, or in doubt")

	// A hand-over that ends after its execution was done leaves nothing.
	q.handOver("b")
	q.done("b")
	q.handedOver("b", true)
	require.False(t, q.mayHaveReached("b"))
	require.Empty(t, q.handing)
	require.NotContains(t, q.handed, "b")
}
