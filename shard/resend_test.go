package shard

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/scheduler"
)

// recorder is a dispatcher whose hand-overs all succeed and whose workers
// never answer. Pick offers the clients of picks in turn.
type recorder struct {
	mu        sync.Mutex
	picks     []string
	delivered []string // clients handed a fire, in order
}

func (d *recorder) Pick(*api.Job, int, map[string]bool, uint64) []Target {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.picks) == 0 {
		return nil
	}
	c := d.picks[0]
	d.picks = d.picks[1:]
	return []Target{{Client: c, Server: "s1"}}
}

func (d *recorder) Deliver(_ context.Context, t Target, _ *protocol.Fire, done func(error)) {
	d.mu.Lock()
	d.delivered = append(d.delivered, t.Client)
	d.mu.Unlock()
	done(nil)
}

func (d *recorder) Connected(string) bool       { return true }
func (d *recorder) Kill(string, string, string) {}

func (d *recorder) targets() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.delivered...)
}

// flaky fails the next proposal of an updates command when told to.
type flaky struct {
	*applier
	mu   sync.Mutex
	fail bool
}

func (a *flaky) Propose(c *fsm.Command) (*fsm.Result, error) {
	a.mu.Lock()
	fail := a.fail && c.Type == fsm.CmdUpdates
	a.fail = a.fail && !fail
	a.mu.Unlock()
	if fail {
		return nil, errors.New("leadership lost")
	}
	return a.applier.Propose(c)
}

func (a *flaky) failNext() {
	a.mu.Lock()
	a.fail = true
	a.mu.Unlock()
}

// oneFire commits a job and one execution of it, due now, for target.
func oneFire(t *testing.T, a proposer, now time.Time, target string) string {
	t.Helper()
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
			Execs: []fsm.NewExec{{ID: id, ScheduledMS: now.UnixMilli(), Target: target, Server: "s1"}}}},
	}})
	require.NoError(t, err)
	require.Nil(t, res.Err)
	return id
}

// testStore opens a shard store for one test; it closes after the test.
func testStore(t *testing.T) *fsm.Shard {
	t.Helper()
	store, err := fsm.OpenShard(0, filepath.Join(t.TempDir(), "fsm.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return store
}

// startFirer starts the term-1 fire loop of server s1 on store, proposing
// through g and delivering through d; it stops after the test.
func startFirer(t *testing.T, store *fsm.Shard, g interface {
	proposer
	barrier
}, d Dispatcher) *Firer {
	t.Helper()
	f, err := NewFirer(FirerConfig{NodeID: "s1", Dispatcher: d}, store, g, g, 1)
	require.NoError(t, err)
	f.Start(t.Context())
	t.Cleanup(f.Stop)
	return f
}

// TestRefusalArrivingTwiceDoesNotMoveTheFireAgain reproduces finding 14 of
// docs/reliability.md: a worker's refusal reached the leader twice; the
// first sent the fire to another worker, and the second, applied as if it
// came from that worker, sent it to a third one as well.
func TestRefusalArrivingTwiceDoesNotMoveTheFireAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := testStore(t)
		a := &applier{store: store}
		id := oneFire(t, a, time.Now(), "c1")

		d := &recorder{picks: []string{"c2", "c3"}}
		f := startFirer(t, store, a, d)

		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"c1"}, d.targets())

		refusal := &protocol.Ack{ExecID: id, Attempt: 1, Reason: "capacity"}
		f.OnAck("c1", refusal)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"c1", "c2"}, d.targets())

		f.OnAck("c1", refusal)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"c1", "c2"}, d.targets(), "a stale refusal moved the fire from c2")
		e, err := store.Exec(id)
		require.NoError(t, err)
		require.Equal(t, "c2", e.Target)
	})
}

// TestFailedProposalDoesNotResendWhatAwaitsItsAck: a failed proposal makes
// the leader reload its executions from the store; one it handed over and
// whose ack is not due yet is not sent again before the ack timeout.
func TestFailedProposalDoesNotResendWhatAwaitsItsAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := testStore(t)
		a := &flaky{applier: &applier{store: store}}
		id := oneFire(t, a, time.Now(), "c1")

		d := &recorder{}
		a.failNext() // the "dispatched" update fails
		startFirer(t, store, a, d)

		time.Sleep(DefaultAckTimeout / 2)
		synctest.Wait()
		require.Equal(t, []string{"c1"}, d.targets(), "sent again before its ack was due")

		time.Sleep(DefaultAckTimeout)
		synctest.Wait()
		require.Equal(t, []string{"c1", "c1"}, d.targets(), "an unacknowledged fire is sent again after the ack timeout")
		e, err := store.Exec(id)
		require.NoError(t, err)
		require.Equal(t, api.ExecDispatched, e.State)
	})
}

// slowHandOver is a recorder whose hand-overs take a while to end, as
// they do behind a herd: a batched call to a busy server.
type slowHandOver struct {
	recorder
	took time.Duration
}

func (d *slowHandOver) Deliver(ctx context.Context, t Target, f *protocol.Fire, done func(error)) {
	d.recorder.Deliver(ctx, t, f, func(error) {})
	go func() {
		select {
		case <-time.After(d.took):
			done(nil)
		case <-ctx.Done():
		}
	}()
}

// TestAckTimeoutCountsFromTheHandOver: a fire whose hand-over took most
// of the ack timeout is not sent again as soon as it arrives; its worker
// gets the full timeout to answer. Found by the herd benchmark, where
// fires handed over late were re-sent before their acks could come.
func TestAckTimeoutCountsFromTheHandOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := testStore(t)
		a := &applier{store: store}
		oneFire(t, a, time.Now(), "c1")

		d := &slowHandOver{took: DefaultAckTimeout * 8 / 10}
		startFirer(t, store, a, d)

		time.Sleep(DefaultAckTimeout * 15 / 10)
		synctest.Wait()
		require.Equal(t, []string{"c1"}, d.targets(), "sent again before its worker had the ack timeout to answer")

		time.Sleep(DefaultAckTimeout)
		synctest.Wait()
		require.Equal(t, []string{"c1", "c1"}, d.targets(), "never acknowledged: sent again")
	})
}

// TestAcknowledgedFireIsNotSentAgainWhenItsUpdateFails: the worker acked;
// the proposal carrying "running" failed, so the leader reloads from the
// store, which still says dispatched. The worker has the fire: it is not
// sent again.
func TestAcknowledgedFireIsNotSentAgainWhenItsUpdateFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := testStore(t)
		a := &flaky{applier: &applier{store: store}}
		id := oneFire(t, a, time.Now(), "c1")

		d := &recorder{}
		f := startFirer(t, store, a, d)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, []string{"c1"}, d.targets())

		a.failNext() // the "running" update fails
		f.OnAck("c1", &protocol.Ack{ExecID: id, Attempt: 1, Accepted: true})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		e, err := store.Exec(id)
		require.NoError(t, err)
		require.Equal(t, api.ExecDispatched, e.State, "the running update failed")
		require.Equal(t, []string{"c1"}, d.targets(), "an acknowledged fire was sent again")
	})
}

// TestAckIsNotHeldUpByAFullUpdateQueue: during a herd the release loop
// fills the update queue; a worker's ack must still be taken at once, or
// it reaches the release queue after the ack timeout and the fire goes out
// again. Found by the herd benchmark: thousands of duplicates without a
// leader change.
func TestAckIsNotHeldUpByAFullUpdateQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := testStore(t)
		a := &applier{store: store}
		f, err := NewFirer(FirerConfig{NodeID: "s1", Dispatcher: &recorder{}}, store, a, a, 1)
		require.NoError(t, err)
		for range cap(f.upd.ch) {
			f.upd.add(fsm.ExecUpdate{ID: "x", Kind: fsm.UpdDispatched}, nil)
		}

		taken := make(chan struct{})
		go func() {
			f.OnAck("c1", &protocol.Ack{ExecID: "e1", Attempt: 1, Accepted: true})
			close(taken)
		}()
		synctest.Wait()
		select {
		case <-taken:
		default:
			t.Fatal("the ack waits for room in the update queue")
		}
		require.Equal(t, "c1", f.rel.runningOn("e1"))
	})
}
