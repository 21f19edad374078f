package server

import (
	"context"
	"errors"

	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// errNoLeader answers a client's message for a shard whose leader is
// unknown or unreachable; the client sends results again until they are
// confirmed.
var errNoLeader = errors.New("the execution's shard has no reachable leader")

// hubEvents routes what clients say to the fire loop of the execution's
// shard: the local one when this server leads the shard, else the
// leader's server, in batches.
type hubEvents struct{ s *Server }

var _ transport.HubEvents = hubEvents{}

func shardOfExec(execID string) (int, bool) {
	id, err := fsm.ParseExecID(execID)
	return id.Shard, err == nil
}

func (h hubEvents) localFirer(execID string) *shard.Firer {
	n, ok := shardOfExec(execID)
	if !ok {
		return nil
	}
	r := h.s.runner(n)
	if r == nil {
		return nil
	}
	return r.Firer()
}

func (h hubEvents) ClientConnected(c transport.ClientInfo, running []protocol.Running) {
	for _, r := range running {
		if f := h.localFirer(r.ExecID); f != nil {
			f.OnRunning(c.ID, r)
			continue
		}
		h.forward(r.ExecID, eventsRequest{Running: []clientRunning{{Client: c.ID, Running: r}}}, nil)
	}
}

func (h hubEvents) ClientDisconnected(string) {}

func (h hubEvents) Ack(client string, a *protocol.Ack) {
	if f := h.localFirer(a.ExecID); f != nil {
		f.OnAck(client, a)
		return
	}
	h.forward(a.ExecID, eventsRequest{Acks: []clientAck{{Client: client, Ack: a}}}, nil)
}

func (h hubEvents) Result(client string, r *protocol.Result, done func(error)) {
	if _, ok := shardOfExec(r.ExecID); !ok {
		done(nil) // not ours: confirm so the client stops sending it
		return
	}
	if f := h.localFirer(r.ExecID); f != nil {
		f.OnResult(client, r, done)
		return
	}
	h.forward(r.ExecID, eventsRequest{Results: []clientResult{{Client: client, Result: r}}}, done)
}

func (h hubEvents) Log(client string, l *protocol.Log) {
	h.s.logs.append(l)
}

// forward sends an event to the server leading the execution's shard.
func (h hubEvents) forward(execID string, ev eventsRequest, done func(error)) {
	n, _ := shardOfExec(execID)
	leader := h.s.shardLeader(n)
	if leader == "" || leader == h.s.id.NodeID {
		if done != nil {
			done(errNoLeader)
		}
		return
	}
	h.s.wg.Add(1)
	go func() {
		defer h.s.wg.Done()
		ctx, cancel := context.WithTimeout(h.s.ctx, peerTimeout)
		defer cancel()
		var out eventsReply
		err := h.s.peers.call(ctx, leader, "POST", "/v1/internal/events", ev, &out)
		if done == nil {
			return
		}
		if err == nil && (len(out.Committed) == 0 || !out.Committed[0]) {
			err = errNoLeader
		}
		done(err)
	}()
}

// ackLocal, resultLocal and runningLocal handle events forwarded by the
// server holding the client's socket.
func (h hubEvents) ackLocal(client string, a *protocol.Ack) {
	if f := h.localFirer(a.ExecID); f != nil {
		f.OnAck(client, a)
	}
}

func (h hubEvents) resultLocal(client string, r *protocol.Result, done func(error)) {
	if f := h.localFirer(r.ExecID); f != nil {
		f.OnResult(client, r, done)
		return
	}
	done(errNoLeader)
}

func (h hubEvents) runningLocal(client string, r protocol.Running) {
	if f := h.localFirer(r.ExecID); f != nil {
		f.OnRunning(client, r)
	}
}
