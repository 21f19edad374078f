package shard

import (
	"container/heap"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
)

// releaseQueue holds the executions a leader will hand out, ordered by the
// instant they are due. It is shared by the scan loop (push) and the
// release loop (pop) and the ack path (ackd).
type releaseQueue struct {
	mu     sync.Mutex
	h      releaseHeap
	queued map[string]bool

	// sent tracks dispatched executions awaiting an ack: id -> when sent.
	sent map[string]sentFire

	// running tracks acknowledged executions: id -> client.
	running map[string]string

	// refused tracks clients that refused an execution.
	refused map[string]map[string]bool

	reload bool
	wake   chan struct{}
}

type sentFire struct {
	at     time.Time
	target Target
}

func newReleaseQueue() *releaseQueue {
	return &releaseQueue{
		queued:  map[string]bool{},
		sent:    map[string]sentFire{},
		running: map[string]string{},
		refused: map[string]map[string]bool{},
		wake:    make(chan struct{}, 1),
	}
}

type releaseItem struct {
	ms int64
	id string
}

type releaseHeap []releaseItem

func (h releaseHeap) Len() int { return len(h) }
func (h releaseHeap) Less(i, j int) bool {
	if h[i].ms != h[j].ms {
		return h[i].ms < h[j].ms
	}
	return h[i].id < h[j].id
}
func (h releaseHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *releaseHeap) Push(x any)   { *h = append(*h, x.(releaseItem)) }
func (h *releaseHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// push queues id for release at ms, unless it is queued already.
func (q *releaseQueue) push(id string, ms int64) {
	q.mu.Lock()
	if q.queued[id] {
		q.mu.Unlock()
		return
	}
	q.queued[id] = true
	heap.Push(&q.h, releaseItem{ms: ms, id: id})
	q.mu.Unlock()
	q.poke()
}

func (q *releaseQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// due pops the items due at or before now and returns how long until the
// next one (or -1 when the queue is empty).
func (q *releaseQueue) due(now int64) ([]string, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for q.h.Len() > 0 && q.h[0].ms <= now {
		it := heap.Pop(&q.h).(releaseItem)
		delete(q.queued, it.id)
		ids = append(ids, it.id)
	}
	if q.h.Len() == 0 {
		return ids, -1
	}
	return ids, time.Duration(q.h[0].ms-now) * time.Millisecond
}

func (q *releaseQueue) needReload() {
	q.mu.Lock()
	q.reload = true
	q.mu.Unlock()
	q.poke()
}

func (q *releaseQueue) takeReload() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.reload
	q.reload = false
	return r
}

func (q *releaseQueue) markSent(id string, t Target, at time.Time) {
	q.mu.Lock()
	q.sent[id] = sentFire{at: at, target: t}
	q.mu.Unlock()
}

// acked moves id from sent to running.
func (q *releaseQueue) acked(id, client string) {
	q.mu.Lock()
	delete(q.sent, id)
	q.running[id] = client
	q.mu.Unlock()
}

func (q *releaseQueue) watch(id, client string) {
	q.mu.Lock()
	q.running[id] = client
	q.mu.Unlock()
}

func (q *releaseQueue) done(id string) {
	q.mu.Lock()
	delete(q.sent, id)
	delete(q.running, id)
	delete(q.refused, id)
	q.mu.Unlock()
}

// unsent forgets that id was sent (its target gave it back).
func (q *releaseQueue) unsent(id string) {
	q.mu.Lock()
	delete(q.sent, id)
	q.mu.Unlock()
}

func (q *releaseQueue) refuse(id, client string) map[string]bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.sent, id)
	if q.refused[id] == nil {
		q.refused[id] = map[string]bool{}
	}
	q.refused[id][client] = true
	out := make(map[string]bool, len(q.refused[id]))
	for c := range q.refused[id] {
		out[c] = true
	}
	return out
}

// overdue returns executions sent longer ago than timeout without an ack.
func (q *releaseQueue) overdue(now time.Time, timeout time.Duration) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for id, s := range q.sent {
		if now.Sub(s.at) >= timeout {
			ids = append(ids, id)
			delete(q.sent, id)
		}
	}
	return ids
}

// releaseLoop hands out executions at their instants.
func (f *Firer) releaseLoop(ctx context.Context) {
	timer := f.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	absent := map[string]time.Time{}
	var lastLostCheck time.Time
	for {
		if f.rel.takeReload() {
			if err := f.reload(); err != nil {
				f.logScanError(err)
			}
		}

		now := f.cfg.Clock.Now()
		ids, wait := f.rel.due(now.UnixMilli())
		if len(ids) > 0 && !f.stillLeads(now) {
			// A deposed leader that has not noticed yet (it was paused,
			// or cut off) sends nothing; its term is ending.
			for _, id := range ids {
				f.rel.push(id, now.Add(f.cfg.Tick).UnixMilli())
			}
			ids = nil
		}
		for _, id := range ids {
			f.release(ctx, id, now)
		}
		for _, id := range f.rel.overdue(now, f.cfg.AckTimeout) {
			f.rel.push(id, now.UnixMilli())
		}
		if now.Sub(lastLostCheck) >= time.Second {
			f.checkLost(now, absent)
			lastLostCheck = now
		}

		if wait < 0 || wait > f.cfg.Tick {
			wait = f.cfg.Tick
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-f.rel.wake:
			timer.Stop()
		case <-timer.C():
		}
	}
}

// verifyEvery bounds how old a leadership check may be when the release
// loop hands fires out.
const verifyEvery = 50 * time.Millisecond

// stillLeads confirms, at most every verifyEvery, that this member still
// leads its group, so a leader that was paused past an election does not
// send fires in its old term when it wakes.
func (f *Firer) stillLeads(now time.Time) bool {
	if now.Sub(f.verified) < verifyEvery {
		return true
	}
	if err := f.bar.VerifyLeader(); err != nil {
		return false
	}
	f.verified = f.cfg.Clock.Now()
	return true
}

// release hands one execution to its target, or finds a target first, or
// gives up past the misfire threshold. It reads the store, which is the
// truth: a cancelled or finished execution is dropped here.
func (f *Firer) release(ctx context.Context, id string, now time.Time) {
	e, err := f.store.Exec(id)
	if err != nil || e == nil || api.Terminal(e.State) {
		f.rel.done(id)
		return
	}
	if e.State == api.ExecRunning {
		f.rel.watch(id, e.Client)
		return
	}
	if e.NotBeforeMS > now.UnixMilli() {
		f.rel.push(id, e.NotBeforeMS)
		return
	}
	rec, err := f.store.Job(e.Job)
	if err != nil || rec == nil || rec.Job.ID != e.JobID {
		f.upd.add(fsm.ExecUpdate{ID: id, Attempt: e.Attempt, Kind: fsm.UpdSkip, AtMS: now.UnixMilli(), Reason: api.ReasonDeleted}, nil)
		return
	}

	if e.Target == "" || (e.State == api.ExecScheduled && !f.cfg.Dispatcher.Connected(e.Target)) {
		f.assign(e, rec, now)
		return
	}
	f.deliver(ctx, e, rec, now)
}

// assign chooses a target for an execution that has none (or whose target
// left before it was sent), commits the choice, then delivers.
func (f *Firer) assign(e *fsm.ExecRecord, rec *fsm.JobRecord, now time.Time) {
	excl := f.rel.refusedBy(e.ID)
	targets := f.cfg.Dispatcher.Pick(&rec.Job, 1, excl, uint64(e.Attempt))
	if len(targets) == 0 || targets[0].Client == "" {
		if now.Sub(e.ScheduledAt) > f.cfg.MisfireThreshold {
			f.upd.add(fsm.ExecUpdate{ID: e.ID, Attempt: e.Attempt, Kind: fsm.UpdSkip, AtMS: now.UnixMilli(), Reason: api.ReasonNoClient}, nil)
			return
		}
		f.rel.push(e.ID, now.Add(noClientRetry).UnixMilli())
		return
	}
	t := targets[0]
	u := fsm.ExecUpdate{ID: e.ID, Attempt: e.Attempt, Kind: fsm.UpdAssign, AtMS: now.UnixMilli(), Client: t.Client, Server: t.Server}
	f.upd.add(u, func(applied bool, err error) {
		// Deliver only once the choice is committed: a new leader would
		// otherwise send the fire to the old target as well.
		if err == nil && applied {
			f.rel.push(e.ID, 0)
		} else if err != nil {
			f.rel.push(e.ID, now.Add(noClientRetry).UnixMilli())
		}
	})
}

func (q *releaseQueue) refusedBy(id string) map[string]bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.refused[id]) == 0 {
		return nil
	}
	out := make(map[string]bool, len(q.refused[id]))
	for c := range q.refused[id] {
		out[c] = true
	}
	return out
}

// deliver sends the fire to its committed target.
func (f *Firer) deliver(ctx context.Context, e *fsm.ExecRecord, rec *fsm.JobRecord, now time.Time) {
	fire := buildFire(e, rec, f.cfg.Shard, f.term, now)
	fire.Leader = f.cfg.NodeID
	t := Target{Client: e.Target, Server: e.Server}
	// Marked sent before the hand-over: an ack may come back before
	// Deliver returns.
	f.rel.markSent(e.ID, t, now)
	if err := f.cfg.Dispatcher.Deliver(ctx, t, fire); err != nil {
		f.rel.unsent(e.ID)
		f.undelivered(e, rec, t, now)
		return
	}
	f.fired.add(now, 1)
	f.log.Debug("fire released", "exec_id", e.ID, "attempt", e.Attempt, "client", t.Client)
	f.TestSignals.Released.Signal(e.ID)
	if e.State == api.ExecScheduled {
		f.upd.add(fsm.ExecUpdate{ID: e.ID, Attempt: e.Attempt, Kind: fsm.UpdDispatched, AtMS: now.UnixMilli(), Client: t.Client, Server: t.Server}, nil)
	}
}

// undelivered handles a fire that was not handed over. A fire never sent
// may go to another worker; one that was sent may be running, so it waits
// for the worker's grace period before it is lost. A performer (http,
// kafka) that could not take it is tried again after a pause.
func (f *Firer) undelivered(e *fsm.ExecRecord, rec *fsm.JobRecord, t Target, now time.Time) {
	switch {
	case IsPerformTarget(t.Client):
		f.rel.push(e.ID, now.Add(performRetry).UnixMilli())
	case e.State == api.ExecScheduled:
		f.assign(&fsm.ExecRecord{Execution: e.Execution, JobID: e.JobID}, rec, now)
	default:
		f.rel.push(e.ID, now.Add(noClientRetry).UnixMilli())
	}
}

// performRetry is the pause before a performer that refused a fire (busy,
// broker down) is asked again.
const performRetry = time.Second

// IsPerformTarget reports whether a target is a server-side performer
// ("@http", "@kafka") rather than a worker.
func IsPerformTarget(client string) bool { return strings.HasPrefix(client, "@") }

// buildFire renders the message a worker receives.
func buildFire(e *fsm.ExecRecord, rec *fsm.JobRecord, shard int, term uint64, now time.Time) *protocol.Fire {
	fired := now
	if e.FiredAt != nil {
		fired = *e.FiredAt
	}
	return &protocol.Fire{
		ExecID:      e.ID,
		Attempt:     e.Attempt,
		Shard:       shard,
		Term:        term,
		Job:         e.Job,
		JobID:       e.JobID,
		ScheduledAt: e.ScheduledAt,
		FiredAt:     fired.UTC(),
		Executor:    rec.Job.Executor,
		Data:        rec.Job.Data,
		Piece:       e.Piece,
		TimeoutMS:   rec.Job.Timeout.D().Milliseconds(),
		Perform:     performOf(&rec.Job),
	}
}

func performOf(j *api.Job) *api.Perform {
	if j.Perform.Kind == "" || j.Perform.Kind == api.PerformWebSocket {
		return nil
	}
	p := j.Perform
	return &p
}
