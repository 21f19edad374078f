package server

import (
	"context"
	"errors"
	"time"

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

// forward sends an event to the server leading the execution's shard, in
// a batch with the others going there.
func (h hubEvents) forward(execID string, ev eventsRequest, done func(error)) {
	n, _ := shardOfExec(execID)
	leader := h.s.shardLeader(n)
	if leader == "" || leader == h.s.id.NodeID {
		if done != nil {
			done(errNoLeader)
		}
		return
	}
	h.s.eventBatcher(leader).add(ev, func(committed bool, err error) {
		if done == nil {
			return
		}
		if err == nil && !committed {
			err = errNoLeader
		}
		done(err)
	})
}

// eventBatcher returns the batcher of client events to one server. Each
// item is one event; the answer says, for a result, whether it committed.
func (s *Server) eventBatcher(server string) *batcher[eventsRequest, bool] {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	if b, ok := s.eventBatchers[server]; ok {
		return b
	}
	b := &batcher[eventsRequest, bool]{
		max:   512,
		delay: 2 * time.Millisecond,
		wg:    &s.wg,
		ctx:   s.ctx,
		send: func(ctx context.Context, items []eventsRequest) ([]bool, error) {
			var req eventsRequest
			where := make([]int, len(items)) // index of each item's result, or -1
			for i, it := range items {
				where[i] = -1
				req.Acks = append(req.Acks, it.Acks...)
				req.Running = append(req.Running, it.Running...)
				if len(it.Results) > 0 {
					where[i] = len(req.Results)
					req.Results = append(req.Results, it.Results...)
				}
			}
			var out eventsReply
			if err := s.peers.call(ctx, server, "POST", "/v1/internal/events", req, &out); err != nil {
				return nil, err
			}
			res := make([]bool, len(items))
			for i, w := range where {
				res[i] = w < 0 || (w < len(out.Committed) && out.Committed[w])
			}
			return res, nil
		},
	}
	s.eventBatchers[server] = b
	return b
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
