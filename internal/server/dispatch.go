package server

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// reservationTTL is how long a target chosen for a committed-ahead fire
// counts against the client's capacity before the fire is delivered.
const reservationTTL = 5 * time.Second

// dispatcher is the shard.Dispatcher of this server: it picks among the
// clients of the hub and delivers through it.
type dispatcher struct {
	s *Server

	mu       sync.Mutex
	reserved map[string][]time.Time // client -> expiry of each reservation
}

func newDispatcher(s *Server) *dispatcher {
	return &dispatcher{s: s, reserved: map[string][]time.Time{}}
}

// Pick chooses targets among the connected clients of the job's group. A
// chosen target is reserved until delivery, so fires committed together
// do not all land on one client's last free slot.
func (d *dispatcher) Pick(job *api.Job, pieces int, exclude map[string]bool, seq uint64) []shard.Target {
	if job.Routing == api.RoutingAny {
		seq = rand.Uint64()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.s.clock.Now()
	cands := d.candidates(job.ClientGroup, now)
	targets := shard.PickTargets(job, cands, pieces, exclude, seq)
	for _, t := range targets {
		if t.Client != "" {
			d.reserved[t.Client] = append(d.reserved[t.Client], now.Add(reservationTTL))
		}
	}
	return targets
}

// candidates lists the group's clients with reservations counted as
// running. Called with d.mu held.
func (d *dispatcher) candidates(group string, now time.Time) []shard.Candidate {
	var out []shard.Candidate
	for _, c := range d.s.hub.Clients() {
		if c.Group != group || c.Draining {
			continue
		}
		out = append(out, shard.Candidate{
			ID: c.ID, Server: c.Server, Capacity: c.Capacity, Labels: c.Labels, Handlers: c.Handlers,
			Running: c.Running + d.liveReservations(c.ID, now),
		})
	}
	return out
}

func (d *dispatcher) liveReservations(client string, now time.Time) int {
	res := d.reserved[client]
	kept := res[:0]
	for _, exp := range res {
		if exp.After(now) {
			kept = append(kept, exp)
		}
	}
	if len(kept) == 0 {
		delete(d.reserved, client)
		return 0
	}
	d.reserved[client] = kept
	return len(kept)
}

func (d *dispatcher) release(client string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if res := d.reserved[client]; len(res) > 0 {
		d.reserved[client] = res[1:]
	}
}

// Deliver hands the fire to the hub holding the target's socket.
func (d *dispatcher) Deliver(ctx context.Context, t shard.Target, f *protocol.Fire) error {
	d.release(t.Client)
	if t.Server != "" && t.Server != d.s.id.NodeID {
		// TODO: deliver through the server holding the socket; until the
		// cluster forwards fires, a target on another server is unreachable
		// and the fire is re-assigned to a client of this server.
		return transport.ErrNoClient
	}
	return d.s.hub.Deliver(t.Client, f)
}

// Connected reports whether the client is connected to this server.
func (d *dispatcher) Connected(client string) bool { return d.s.hub.Connected(client) }

// Kill asks the client running an execution to stop it.
func (d *dispatcher) Kill(client, server, execID string) error {
	if server != "" && server != d.s.id.NodeID {
		// TODO: forward kills to the server holding the socket.
		return transport.ErrNoClient
	}
	if err := d.s.hub.Kill(client, &protocol.Kill{ExecID: execID, Reason: api.ExecKilled}); err != nil {
		return api.Unavailable("client %s is not connected: %v", client, err)
	}
	return nil
}
