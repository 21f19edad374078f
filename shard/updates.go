package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
)

// updater batches execution updates (dispatches, acks, results,
// assignments) into few Raft entries: it flushes when DefaultUpdateBatch
// updates wait or DefaultUpdateFlush after the first. Up to
// updatesInFlight batches are proposed at once, so Raft writes and applies
// several in one disk write while the next one fills; their outcomes are
// handled in the order they were proposed, which is the log's order.
type updater struct {
	f        *Firer
	ch       chan pendingUpdate
	inflight chan proposedBatch // proposed, outcome not handled yet
	stopped  chan struct{}      // closed when run returns

	// Workers' answers (post) queue here without waiting for room.
	mu     sync.Mutex
	posted []pendingUpdate
	ended  bool          // run returned: post answers errTermEnded
	kick   chan struct{} // posted has items
}

// updatesInFlight bounds the update batches proposed and not yet
// committed. One at a time left a shard's leader waiting a full commit
// (write, replicate, apply, on three replicas) per batch: a herd's
// updates queued behind it and held its release loop up.
const updatesInFlight = 4

type pendingUpdate struct {
	u    fsm.ExecUpdate
	done func(applied bool, err error)
}

type proposedBatch struct {
	batch []pendingUpdate
	wait  func() (*fsm.Result, error)
}

func newUpdater(f *Firer) *updater {
	return &updater{
		f:        f,
		ch:       make(chan pendingUpdate, 4*DefaultUpdateBatch),
		inflight: make(chan proposedBatch, updatesInFlight-1),
		stopped:  make(chan struct{}),
		kick:     make(chan struct{}, 1),
	}
}

// add queues an update; done (optional) runs after it is committed or
// failed. When the queue is full the caller waits for room; after the
// term ended, done gets errTermEnded at once.
func (u *updater) add(up fsm.ExecUpdate, done func(applied bool, err error)) {
	select {
	case u.ch <- pendingUpdate{u: up, done: done}:
	case <-u.stopped:
		if done != nil {
			done(false, errTermEnded)
		}
	}
}

// post queues a worker's answer (an ack, a refusal, a result) without
// waiting. The goroutine reading a worker's answers must not stop while
// the queue is full of the release loop's updates: an ack held up past
// the ack timeout makes the leader send its fire again. Answers are
// bounded by the fires under way, at most one ack and one result each.
func (u *updater) post(up fsm.ExecUpdate, done func(applied bool, err error)) {
	u.mu.Lock()
	if u.ended {
		u.mu.Unlock()
		if done != nil {
			done(false, errTermEnded)
		}
		return
	}
	u.posted = append(u.posted, pendingUpdate{u: up, done: done})
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// takePosted moves posted answers into batch, up to a full batch.
func (u *updater) takePosted(batch []pendingUpdate) []pendingUpdate {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := min(len(u.posted), DefaultUpdateBatch-len(batch))
	batch = append(batch, u.posted[:n]...)
	u.posted = append(u.posted[:0], u.posted[n:]...)
	if len(u.posted) > 0 {
		select {
		case u.kick <- struct{}{}:
		default:
		}
	}
	return batch
}

// errTermEnded answers updates that arrive after the leader's term ended.
var errTermEnded = errors.New("leader term ended")

// run collects batches and proposes them; it closes inflight when it
// returns, so settle ends after handling what was proposed.
func (u *updater) run(ctx context.Context) {
	defer close(u.stopped)
	defer close(u.inflight)
	for {
		var batch []pendingUpdate
		select {
		case <-ctx.Done():
			u.failPending(ctx.Err())
			return
		case p := <-u.ch:
			batch = append(batch, p)
		case <-u.kick:
			batch = u.takePosted(batch)
			if len(batch) == 0 {
				continue
			}
		}

		deadline := time.NewTimer(DefaultUpdateFlush)
	fill:
		for len(batch) < DefaultUpdateBatch {
			select {
			case p := <-u.ch:
				batch = append(batch, p)
			case <-u.kick:
				batch = u.takePosted(batch)
			case <-deadline.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		deadline.Stop()
		// Waits while updatesInFlight batches are under way.
		u.inflight <- u.propose(batch)
	}
}

// settle handles the outcome of each proposed batch, in proposal order.
func (u *updater) settle() {
	for p := range u.inflight {
		res, err := p.wait()
		u.finish(p.batch, res, err)
	}
}

// failPending answers everything still queued when the term ends.
func (u *updater) failPending(err error) {
	u.mu.Lock()
	u.ended = true
	posted := u.posted
	u.posted = nil
	u.mu.Unlock()
	for _, p := range posted {
		if p.done != nil {
			p.done(false, err)
		}
	}
	for {
		select {
		case p := <-u.ch:
			if p.done != nil {
				p.done(false, err)
			}
		default:
			return
		}
	}
}

func (u *updater) propose(batch []pendingUpdate) proposedBatch {
	f := u.f
	cmd := &fsm.Command{
		Type:    fsm.CmdUpdates,
		NowMS:   f.cfg.Clock.Now().UnixMilli(),
		Keep:    f.cfg.Keep,
		Updates: &fsm.ExecUpdates{Term: f.term, Updates: make([]fsm.ExecUpdate, len(batch))},
	}
	for i, p := range batch {
		cmd.Updates.Updates[i] = p.u
	}

	f.cfg.Metrics.UpdateBatch(len(batch))
	return proposedBatch{batch: batch, wait: proposeAsync(f.group, cmd)}
}

func (u *updater) finish(batch []pendingUpdate, res *fsm.Result, err error) {
	f := u.f
	if err != nil {
		err = fmt.Errorf("commit updates: %w", err)
		f.logScanError(err)
		f.rel.needReload()
	}
	for i, p := range batch {
		applied := err == nil && i < len(res.Applied) && res.Applied[i]
		if applied {
			f.afterUpdate(&p.u)
		}
		if p.done != nil {
			p.done(applied, err)
		}
	}
}

// afterUpdate keeps the release queue in step with a committed update,
// counts it, and raises the job's alert a result calls for.
func (f *Firer) afterUpdate(u *fsm.ExecUpdate) {
	switch u.Kind {
	case fsm.UpdResult, fsm.UpdSkip:
		f.rel.done(u.ID)
		e, err := f.store.Exec(u.ID)
		if err != nil || e == nil {
			return
		}
		if e.State == api.ExecScheduled {
			// A failed attempt with retries left is scheduled again.
			f.rel.push(u.ID, e.NotBeforeMS)
		}
		if u.Kind == fsm.UpdSkip {
			f.cfg.Metrics.FireOutcome("skipped_" + u.Reason)
			return
		}
		f.finished(e)
	}
}

// finished counts a committed result and hands the alert it calls for,
// if any, to the Notifier. It reads the committed record, so every leader
// would decide the same.
func (f *Firer) finished(e *fsm.ExecRecord) {
	if e.State == api.ExecScheduled {
		f.cfg.Metrics.ExecutionFinished("retrying")
		return
	}
	f.cfg.Metrics.ExecutionFinished(e.State)

	event := alertEvent(e)
	if event == "" || f.cfg.Notifier == nil {
		return
	}
	rec, err := f.store.Job(e.Job)
	if err != nil || rec == nil || rec.Job.ID != e.JobID || len(rec.Job.Notify) == 0 {
		return
	}
	f.cfg.Notifier.Notify(event, &rec.Job, &e.Execution, f.cfg.Clock.Now())
}

// alertEvent names the alert a terminal execution raises: its failure,
// or a recovery when it succeeded after the job's last run failed.
func alertEvent(e *fsm.ExecRecord) string {
	switch e.State {
	case api.ExecFailed:
		return api.NotifyFailure
	case api.ExecTimedOut:
		return api.NotifyTimeout
	case api.ExecLost:
		return api.NotifyLost
	case api.ExecSucceeded:
		switch e.PrevOutcome {
		case api.ExecFailed, api.ExecTimedOut, api.ExecLost:
			return api.NotifyRecovery
		}
	}
	return ""
}
