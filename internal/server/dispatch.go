package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
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
	if kind := job.Perform.Kind; kind != "" && kind != api.PerformWebSocket {
		// The leader performs it itself: one virtual target per piece.
		out := make([]shard.Target, max(pieces, 1))
		for i := range out {
			out[i] = shard.Target{Client: performTarget(kind)}
		}
		return out
	}
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

// candidates lists the group's clients, here and on other servers, with
// reservations counted as running. Called with d.mu held. The running
// counts of remote clients are as fresh as the last report (about a
// second): least_busy and capacity are approximate across servers.
func (d *dispatcher) candidates(group string, now time.Time) []shard.Candidate {
	var out []shard.Candidate
	all := append(d.s.hub.Clients(), d.s.view.remoteClients(d.s.id.NodeID)...)
	for _, c := range all {
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

// Deliver hands the fire to the hub holding the target's socket: this
// server's, or another server's through a batched internal call.
func (d *dispatcher) Deliver(ctx context.Context, t shard.Target, f *protocol.Fire) error {
	if kind, ok := performKind(t.Client); ok {
		return d.s.perform(ctx, kind, f)
	}
	d.release(t.Client)
	if err := d.s.hub.Deliver(t.Client, f); !errors.Is(err, transport.ErrNoClient) {
		return err
	}
	// The recorded server is where the client was when it was chosen; it
	// may have moved since. Deliver where it is now.
	server, ok := d.s.view.clientServer(t.Client, d.s.id.NodeID)
	if !ok {
		server = t.Server
	}
	if server == "" || server == d.s.id.NodeID {
		return transport.ErrNoClient
	}
	return d.deliverRemote(ctx, server, t.Client, f)
}

func (d *dispatcher) deliverRemote(ctx context.Context, server, client string, f *protocol.Fire) error {
	b := d.s.fireBatcher(server)
	errc := make(chan error, 1)
	b.add(fireItem{Client: client, Fire: f}, func(msg string, err error) {
		if err == nil && msg != "" {
			err = errors.New(msg)
		}
		errc <- err
	})
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connected reports whether the client is connected to any server. A
// perform target is always there: the leader performs it.
func (d *dispatcher) Connected(client string) bool {
	if _, ok := performKind(client); ok || d.s.hub.Connected(client) {
		return true
	}
	_, ok := d.s.view.clientServer(client, d.s.id.NodeID)
	return ok
}

// Kill asks the client running an execution to stop it, through the
// server holding its socket.
func (d *dispatcher) Kill(client, execID string) error {
	if kind, ok := performKind(client); ok {
		if k, ok := d.s.performers[kind].(interface{ Kill(string) bool }); ok && k.Kill(execID) {
			return nil
		}
		return api.Unavailable("a %s fire cannot be stopped from here", kind)
	}
	k := &protocol.Kill{ExecID: execID, Reason: api.ExecKilled}
	if d.s.hub.Kill(client, k) == nil {
		return nil
	}
	server, ok := d.s.view.clientServer(client, d.s.id.NodeID)
	if !ok {
		return api.Unavailable("client %s is not connected", client)
	}
	ctx, cancel := context.WithTimeout(d.s.ctx, peerTimeout)
	defer cancel()
	return d.s.peers.call(ctx, server, "POST", "/v1/internal/kill", killRequest{Client: client, Kill: k}, nil)
}

// performTarget names the virtual target of a perform kind ("@http").
func performTarget(kind string) string { return "@" + kind }

func performKind(target string) (string, bool) {
	return strings.CutPrefix(target, "@")
}
