package shard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
)

// updater batches execution updates (dispatches, acks, results,
// assignments) into few Raft entries: it flushes when DefaultUpdateBatch
// updates wait or DefaultUpdateFlush after the first.
type updater struct {
	f       *Firer
	ch      chan pendingUpdate
	stopped chan struct{} // closed when run returns
}

type pendingUpdate struct {
	u    fsm.ExecUpdate
	done func(applied bool, err error)
}

func newUpdater(f *Firer) *updater {
	return &updater{f: f, ch: make(chan pendingUpdate, 4*DefaultUpdateBatch), stopped: make(chan struct{})}
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

// errTermEnded answers updates that arrive after the leader's term ended.
var errTermEnded = errors.New("leader term ended")

func (u *updater) run(ctx context.Context) {
	defer close(u.stopped)
	for {
		var batch []pendingUpdate
		select {
		case <-ctx.Done():
			u.failPending(ctx.Err())
			return
		case p := <-u.ch:
			batch = append(batch, p)
		}

		deadline := time.NewTimer(DefaultUpdateFlush)
	fill:
		for len(batch) < DefaultUpdateBatch {
			select {
			case p := <-u.ch:
				batch = append(batch, p)
			case <-deadline.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		deadline.Stop()
		u.flush(batch)
	}
}

// failPending answers everything still queued when the term ends.
func (u *updater) failPending(err error) {
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

func (u *updater) flush(batch []pendingUpdate) {
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
	res, err := f.group.Propose(cmd)
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
