package server

import (
	"errors"

	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// errNoLeaderHere answers a client's message for a shard this server does
// not lead; the client sends results again until they are confirmed.
var errNoLeaderHere = errors.New("this server does not lead the execution's shard")

// hubEvents routes what clients say to the fire loop of the execution's
// shard.
type hubEvents struct{ s *Server }

var _ transport.HubEvents = hubEvents{}

func (h hubEvents) firerOf(execID string) *shard.Firer {
	id, err := fsm.ParseExecID(execID)
	if err != nil {
		return nil
	}
	r := h.s.runner(id.Shard)
	if r == nil {
		return nil
	}
	return r.Firer()
}

func (h hubEvents) ClientConnected(c transport.ClientInfo, running []protocol.Running) {
	for _, r := range running {
		if f := h.firerOf(r.ExecID); f != nil {
			f.OnRunning(c.ID, r)
		}
	}
}

func (h hubEvents) ClientDisconnected(string) {}

func (h hubEvents) Ack(client string, a *protocol.Ack) {
	if f := h.firerOf(a.ExecID); f != nil {
		f.OnAck(client, a)
	}
}

func (h hubEvents) Result(client string, r *protocol.Result, done func(error)) {
	if _, err := fsm.ParseExecID(r.ExecID); err != nil {
		done(nil) // not ours: confirm so the client stops sending it
		return
	}
	f := h.firerOf(r.ExecID)
	if f == nil {
		done(errNoLeaderHere)
		return
	}
	f.OnResult(client, r, done)
}

func (h hubEvents) Log(client string, l *protocol.Log) {
	h.s.logs.append(l)
}
