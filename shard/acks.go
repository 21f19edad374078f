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
		// A client that cannot take the fire for good (it may not run the
		// command, lacks the handler, is draining) is not asked again; one
		// that is only full may take it once it has room.
		if a.Reason == "capacity" {
			f.rel.unsent(a.ExecID)
		} else {
			f.rel.refuse(a.ExecID, client)
		}
		f.upd.add(fsm.ExecUpdate{ID: a.ExecID, Attempt: a.Attempt, Kind: fsm.UpdAssign, AtMS: now.UnixMilli()}, func(bool, error) {
			f.rel.push(a.ExecID, now.Add(noClientRetry).UnixMilli())
		})
		return
	}
	f.rel.acked(a.ExecID, client)
	u := fsm.ExecUpdate{ID: a.ExecID, Attempt: a.Attempt, Kind: fsm.UpdRunning, AtMS: now.UnixMilli(), Client: client}
	if !a.StartedAt.IsZero() {
		u.StartedMS = a.StartedAt.UnixMilli()
	}
	f.upd.add(u, nil)
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
	f.upd.add(u, func(_ bool, err error) {
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

// checkLost marks lost the runs of clients gone longer than the grace
// period. A run that was sent but never acknowledged counts too: the
// client may have started it before it vanished.
func (f *Firer) checkLost(now time.Time, absent map[string]time.Time) {
	for id, client := range f.rel.holders() {
		if f.cfg.Dispatcher.Connected(client) {
			delete(absent, client)
			continue
		}
		since, ok := absent[client]
		if !ok {
			absent[client] = now
			continue
		}
		if now.Sub(since) < f.cfg.ClientGrace {
			continue
		}
		e, err := f.store.Exec(id)
		if err != nil || e == nil || api.Terminal(e.State) {
			f.rel.done(id)
			continue
		}
		f.rel.done(id)
		f.upd.add(fsm.ExecUpdate{
			ID: id, Attempt: e.Attempt, Kind: fsm.UpdResult, AtMS: now.UnixMilli(),
			Client: client, State: api.ExecLost, Error: "client " + client + " gone",
		}, nil)
	}
}

// holders maps each sent or running execution to its client.
func (q *releaseQueue) holders() map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]string, len(q.sent)+len(q.running))
	for id, s := range q.sent {
		out[id] = s.target.Client
	}
	for id, c := range q.running {
		out[id] = c
	}
	return out
}
