package shard

import (
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
)

// OnAck records a client's answer to a fire: accepted means the run
// started (committed as running); a refusal sends the fire elsewhere.
func (f *Firer) OnAck(client string, a *protocol.Ack) {
	now := f.cfg.Clock.Now()
	if !a.Accepted {
		// A worker's answer to an attempt is final, even "capacity": it
		// refuses any later copy, so it is not asked again. The fire goes
		// to another worker, or waits for one and is skipped (no_client)
		// past the misfire threshold.
		f.rel.refuse(a.ExecID, client)
		// The refusal clears the target only while it is still this worker.
		f.upd.post(fsm.ExecUpdate{ID: a.ExecID, Attempt: a.Attempt, Kind: fsm.UpdAssign, AtMS: now.UnixMilli(), Replaces: &client}, func(applied bool, err error) {
			if applied || err != nil {
				f.rel.push(a.ExecID, now.Add(noClientRetry).UnixMilli())
			}
		})
		return
	}
	f.rel.acked(a.ExecID, client)
	u := fsm.ExecUpdate{ID: a.ExecID, Attempt: a.Attempt, Kind: fsm.UpdRunning, AtMS: now.UnixMilli(), Client: client}
	if !a.StartedAt.IsZero() {
		u.StartedMS = a.StartedAt.UnixMilli()
	}
	f.upd.post(u, nil)
}

// OnResult records the end of a run; done runs once the result is
// committed (nil) or could not be (the client sends it again).
func (f *Firer) OnResult(client string, r *protocol.Result, done func(error)) {
	u := fsm.ExecUpdate{
		ID:       r.ExecID,
		Attempt:  r.Attempt,
		Kind:     fsm.UpdResult,
		AtMS:     r.FinishedAt.UnixMilli(),
		Client:   client,
		State:    r.State,
		ExitCode: r.ExitCode,
		Output:   r.Output,
		Error:    r.Error, HTTPStatus: r.HTTPStatus,
	}
	if u.AtMS <= 0 {
		u.AtMS = f.cfg.Clock.Now().UnixMilli()
	}
	if !r.StartedAt.IsZero() {
		u.StartedMS = r.StartedAt.UnixMilli()
	}
	f.upd.post(u, func(_ bool, err error) {
		if done != nil {
			done(err)
		}
	})
}

// OnRunning learns from a client's hello which runs it still has, so a
// new leader watches them instead of losing them.
func (f *Firer) OnRunning(client string, r protocol.Running) {
	f.rel.acked(r.ExecID, client)
}

// checkLost acts on runs whose worker is gone longer than the grace
// period: a run it acknowledged is lost (and retried if the job allows);
// a fire sent but never acknowledged may not have run at all, so it gets
// a new attempt on another worker.
func (f *Firer) checkLost(now time.Time, absent map[string]time.Time) {
	sent, running := f.rel.holders()
	for id, client := range sent {
		if f.goneLong(client, now, absent) {
			f.reattempt(id, now)
		}
	}
	for id, client := range running {
		if f.goneLong(client, now, absent) {
			f.lost(id, client, now)
		}
	}
}

// goneLong reports whether client has been away longer than the grace
// period; absent remembers when each was first seen away.
func (f *Firer) goneLong(client string, now time.Time, absent map[string]time.Time) bool {
	if f.cfg.Dispatcher.Connected(client) {
		delete(absent, client)
		return false
	}
	since, ok := absent[client]
	if !ok {
		absent[client] = now
		return false
	}
	return now.Sub(since) >= f.cfg.ClientGrace
}

func (f *Firer) reattempt(id string, now time.Time) {
	f.rel.done(id)
	e, err := f.store.Exec(id)
	if err != nil || e == nil || api.Terminal(e.State) || e.State == api.ExecRunning {
		if e != nil && e.State == api.ExecRunning {
			f.rel.watch(id, e.Client)
		}
		return
	}
	u := fsm.ExecUpdate{ID: id, Attempt: e.Attempt, Kind: fsm.UpdAssign, AtMS: now.UnixMilli(), NewAttempt: true}
	f.upd.add(u, func(bool, error) { f.rel.push(id, now.UnixMilli()) })
}

func (f *Firer) lost(id, client string, now time.Time) {
	e, err := f.store.Exec(id)
	f.rel.done(id)
	if err != nil || e == nil || api.Terminal(e.State) {
		return
	}
	f.upd.add(fsm.ExecUpdate{
		ID: id, Attempt: e.Attempt, Kind: fsm.UpdResult, AtMS: now.UnixMilli(),
		Client: client, State: api.ExecLost, Error: "client " + client + " gone",
	}, nil)
}

// holders maps each sent (not acknowledged) and each running execution to
// its client.
func (q *releaseQueue) holders() (sent, running map[string]string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	sent = make(map[string]string, len(q.sent))
	for id, s := range q.sent {
		sent[id] = s.target.Client
	}
	running = make(map[string]string, len(q.running))
	for id, c := range q.running {
		running[id] = c
	}
	return sent, running
}
