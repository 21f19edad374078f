package shard

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
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

	// handed holds executions a hand-over of which succeeded, or ended in
	// doubt, in this term.
	handed map[string]bool

	// handing counts the hand-overs of each execution still under way: a
	// call to a paused or cut-off server may arrive long after it began.
	handing map[string]int

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
		handed:  map[string]bool{},
		handing: map[string]int{},
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

func (q *releaseQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.h.Len()
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

// runningOn names the worker that acknowledged id in this term, or "".
func (q *releaseQueue) runningOn(id string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.running[id]
}

// reachedAt restarts id's ack timeout when its hand-over to t ended, if
// it still awaits t's ack.
func (q *releaseQueue) reachedAt(id string, t Target, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s, ok := q.sent[id]; ok && s.target == t && at.After(s.at) {
		q.sent[id] = sentFire{at: at, target: t}
	}
}

// awaitingAck reports whether id was handed over in this term and its ack
// has not come.
func (q *releaseQueue) awaitingAck(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.sent[id]
	return ok
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
	delete(q.handed, id)
	delete(q.handing, id)
	q.mu.Unlock()
}

// handOver records that a hand-over of id began.
func (q *releaseQueue) handOver(id string) {
	q.mu.Lock()
	q.handing[id]++
	q.mu.Unlock()
}

// handedOver records how a hand-over of id ended: reached is false only
// when the fire certainly did not arrive. One that ends after id was done
// is forgotten, so finished executions leave nothing behind.
func (q *releaseQueue) handedOver(id string, reached bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, ok := q.handing[id]
	if !ok {
		return
	}
	if n > 1 {
		q.handing[id] = n - 1
	} else {
		delete(q.handing, id)
	}
	if reached {
		q.handed[id] = true
	}
}

// mayHaveReached reports whether a hand-over of id succeeded, ended in
// doubt, or has not ended yet.
func (q *releaseQueue) mayHaveReached(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.handed[id] || q.handing[id] > 0
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
	if q.sent[id].target.Client == client {
		delete(q.sent, id) // a late refusal from an earlier target leaves the current one watched
	}
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
			// Each at its own instant: a herd's thousands take a while, and
			// the ack timeout and lateness of the last ones count from when
			// they went out, not from when the first did.
			f.release(ctx, id, f.cfg.Clock.Now())
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
	if c := f.rel.runningOn(id); c != "" && e.State == api.ExecDispatched && c == e.Target {
		// Its worker acknowledged it in this term and the running update
		// is not committed yet (or failed, and a reload queued it): the
		// worker has it, so it is not sent again.
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

	switch {
	case e.Target == "":
		f.assign(e, rec, now)
	case e.State == api.ExecScheduled && !f.cfg.Dispatcher.Connected(e.Target):
		if f.neverSent(e) {
			f.assign(e, rec, now) // chosen here, never sent: choose again
			return
		}
		// It may have reached its worker (sent by this leader or an
		// earlier one): it stays the target, and is tried again until the
		// worker is back or its grace ends (then a new attempt, checkLost).
		f.rel.markSent(e.ID, Target{Client: e.Target, Server: e.Server}, now)
		f.rel.push(e.ID, now.Add(noClientRetry).UnixMilli())
	default:
		f.deliver(ctx, e, rec, now)
	}
}

// neverSent reports whether an execution certainly never reached a
// worker: this leader chose its target, in this term, and no hand-over of
// it succeeded, ended in doubt or is still under way (a call held up by a
// paused server may land later). Only such a fire may go to another
// worker under the same attempt; any other gets a new attempt, so a worker
// that ran the first cannot mistake the second for a duplicate it dropped.
func (f *Firer) neverSent(e *fsm.ExecRecord) bool {
	return e.State == api.ExecScheduled && e.Term == f.term && !f.rel.mayHaveReached(e.ID)
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
	// Replaces: release and a failed hand-over may both choose from the
	// same reading; only the first choice committed counts.
	read := e.Target
	u := fsm.ExecUpdate{ID: e.ID, Attempt: e.Attempt, Kind: fsm.UpdAssign, AtMS: now.UnixMilli(), Client: t.Client, Server: t.Server, Replaces: &read}
	f.upd.add(u, func(applied bool, err error) {
		// Deliver only once the choice is committed: a new leader would
		// otherwise send the fire to the old target as well. Either way
		// it is released again, and release reads what the store says.
		if err == nil && applied {
			f.rel.push(e.ID, 0)
		} else {
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

// deliver sends the fire to its committed target. The hand-over finishes
// in the background (a batched call to the worker's server), so the
// release loop goes on to the next fire at once.
func (f *Firer) deliver(ctx context.Context, e *fsm.ExecRecord, rec *fsm.JobRecord, now time.Time) {
	if e.State == api.ExecScheduled && rec.Job.Concurrency == api.ConcurrencyReplace && rec.Active > 1 {
		f.replace(e, rec, now)
	}
	fire := buildFire(e, rec, f.cfg.Shard, f.term, now)
	fire.Leader = f.cfg.NodeID
	t := Target{Client: e.Target, Server: e.Server}
	// Marked sent before the hand-over: an ack may come back before the
	// hand-over is done.
	f.rel.markSent(e.ID, t, now)
	f.rel.handOver(e.ID)
	f.cfg.Dispatcher.Deliver(ctx, t, fire, func(err error) { f.delivered(e, rec, t, now, err) })
}

// replaceScan bounds how far back, newest first, replace looks for the
// runs it stops. Under replace the older runs were stopped when a newer
// one started, so the live ones are among the newest few.
const replaceScan = 64

// replace stops the job's other live runs before e goes out (concurrency
// replace): older fires not handed over yet are skipped, sent and running
// ones are killed on their clients, which report them killed.
func (f *Firer) replace(e *fsm.ExecRecord, rec *fsm.JobRecord, now time.Time) {
	others, _, err := f.store.Execs(e.Job, e.JobID, "", replaceScan)
	if err != nil {
		f.logScanError(fmt.Errorf("replace: %w", err))
		return
	}
	for _, o := range others {
		if o.ID == e.ID || api.Terminal(o.State) || !o.ScheduledAt.Before(e.ScheduledAt) {
			continue
		}
		switch {
		case f.neverSent(o) || o.Target == "":
			f.upd.add(fsm.ExecUpdate{ID: o.ID, Attempt: o.Attempt, Kind: fsm.UpdSkip, AtMS: now.UnixMilli(), Reason: api.ReasonConcurrency}, nil)
		case o.Client != "":
			f.cfg.Dispatcher.Kill(o.Client, o.ID, protocol.KillReplaced)
		case o.Target != "":
			f.cfg.Dispatcher.Kill(o.Target, o.ID, protocol.KillReplaced)
		}
	}
}

// delivered handles the outcome of a hand-over; it may run on another
// goroutine than the release loop.
func (f *Firer) delivered(e *fsm.ExecRecord, rec *fsm.JobRecord, t Target, now time.Time, err error) {
	if err != nil {
		f.cfg.Metrics.FireOutcome("undelivered")
		if !errors.Is(err, ErrNotDelivered) {
			// In doubt (a call to the worker's server failed midway): it
			// may have arrived. Send it again later, to the same worker.
			f.rel.handedOver(e.ID, true)
			f.rel.push(e.ID, now.Add(noClientRetry).UnixMilli())
			return
		}
		f.rel.handedOver(e.ID, false)
		f.rel.unsent(e.ID)
		f.undelivered(e, rec, t, now)
		return
	}
	f.rel.handedOver(e.ID, true)
	// The ack timeout counts from here: a hand-over queued behind a herd
	// is not a worker that failed to answer.
	f.rel.reachedAt(e.ID, t, f.cfg.Clock.Now())
	f.fired.add(now, 1)
	f.log.Debug("fire released", "exec_id", e.ID, "attempt", e.Attempt, "client", t.Client)
	f.TestSignals.Released.Signal(e.ID)
	if e.State != api.ExecScheduled {
		f.cfg.Metrics.FireOutcome("resent")
		return
	}
	f.cfg.Metrics.FireOutcome("released")
	f.cfg.Metrics.FireLateness(now.Sub(dueAt(e)))
	f.upd.add(fsm.ExecUpdate{ID: e.ID, Attempt: e.Attempt, Kind: fsm.UpdDispatched, AtMS: now.UnixMilli(), Client: t.Client, Server: t.Server}, nil)
}

// dueAt is when an attempt was due: its instant, or for a retry the end
// of its backoff.
func dueAt(e *fsm.ExecRecord) time.Time {
	if nb := time.UnixMilli(e.NotBeforeMS); nb.After(e.ScheduledAt) {
		return nb
	}
	return e.ScheduledAt
}

// undelivered handles a fire that was not handed over. A fire never sent
// may go to another worker; one that was sent may be running, so it waits
// for the worker's grace period before it is lost. A performer (http,
// kafka) that could not take it is tried again after a pause.
func (f *Firer) undelivered(e *fsm.ExecRecord, rec *fsm.JobRecord, t Target, now time.Time) {
	switch {
	case IsPerformTarget(t.Client):
		f.rel.push(e.ID, now.Add(performRetry).UnixMilli())
	case f.neverSent(e):
		f.assign(&fsm.ExecRecord{Execution: e.Execution, JobID: e.JobID}, rec, now)
	default:
		f.rel.markSent(e.ID, t, now) // watched: a new attempt if the worker stays gone
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
