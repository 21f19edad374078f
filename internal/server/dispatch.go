package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
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

	// cache holds each group's clients, rebuilt when the hub's list
	// changes or after candidateTTL.
	cache        map[string][]shard.Candidate
	cacheVersion uint64
	cacheAt      time.Time
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

// candidateTTL bounds how stale the cached client list of a group may be;
// a connect or disconnect on this server refreshes it at once.
const candidateTTL = 100 * time.Millisecond

// candidates lists the group's clients, here and on other servers, sorted
// by id, with reservations counted as running. Called with d.mu held. The
// running counts of remote clients are as fresh as the last report (about
// a second): least_busy and capacity are approximate across servers. The
// list is cached per group so a burst of fires does not rebuild it for
// each.
func (d *dispatcher) candidates(group string, now time.Time) []shard.Candidate {
	base := d.groupClients(group, now)
	out := make([]shard.Candidate, len(base))
	for i, c := range base {
		c.Running += d.liveReservations(c.ID, now)
		out[i] = c
	}
	return out
}

func (d *dispatcher) groupClients(group string, now time.Time) []shard.Candidate {
	local, version := d.s.hub.ClientsVersion()
	if version != d.cacheVersion || now.Sub(d.cacheAt) > candidateTTL {
		d.cache = map[string][]shard.Candidate{}
		d.cacheVersion, d.cacheAt = version, now
		all := append(local, d.s.view.remoteClients(d.s.id.NodeID)...)
		sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
		for _, c := range all {
			if c.Draining {
				continue
			}
			d.cache[c.Group] = append(d.cache[c.Group], shard.Candidate{
				ID: c.ID, Server: c.Server, Capacity: c.Capacity, Running: c.Running, Labels: c.Labels, Handlers: c.Handlers,
			})
		}
	}
	return d.cache[group]
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
func (d *dispatcher) Deliver(ctx context.Context, t shard.Target, f *protocol.Fire, done func(error)) {
	if kind, ok := performKind(t.Client); ok {
		done(d.s.perform(ctx, kind, f))
		return
	}
	d.release(t.Client)
	err := d.s.hub.Deliver(t.Client, f)
	if err == nil {
		done(nil)
		return
	}
	if !errors.Is(err, transport.ErrNoClient) {
		done(fmt.Errorf("%w: %w", shard.ErrNotDelivered, err)) // queue full, stale term
		return
	}
	// The recorded server is where the client was when it was chosen; it
	// may have moved since. Deliver where it is now.
	server, ok := d.s.view.clientServer(t.Client, d.s.id.NodeID)
	if !ok {
		server = t.Server
	}
	if server == "" || server == d.s.id.NodeID {
		done(fmt.Errorf("%w: %w", shard.ErrNotDelivered, transport.ErrNoClient))
		return
	}
	d.s.fireBatcher(server).add(fireItem{Client: t.Client, Fire: f}, func(msg string, err error) {
		if err == nil && msg != "" {
			// The worker's server answered: it did not take the fire.
			err = fmt.Errorf("%w: %s", shard.ErrNotDelivered, msg)
		}
		done(err)
	})
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

// Kill is the shard loop's kill (concurrency replace): it does not wait
// on another server; that call runs on a goroutine the server owns.
func (d *dispatcher) Kill(client, execID, reason string) {
	kill := func() {
		if err := d.killNow(client, execID, reason); err != nil {
			d.s.log.Debug("kill not delivered", "exec_id", execID, "client", client, "error", err)
		}
	}
	if _, perform := performKind(client); perform || d.s.hub.Connected(client) {
		kill()
		return
	}
	if d.s.ctx.Err() != nil {
		return // stopping: the goroutine would outlive Stop's wait
	}
	d.s.wg.Add(1)
	go func() {
		defer d.s.wg.Done()
		kill()
	}()
}

// killNow asks the client running an execution to stop it, through the
// server holding its socket, and says whether the request got there.
func (d *dispatcher) killNow(client, execID, reason string) error {
	if kind, ok := performKind(client); ok {
		if k, ok := d.s.performers[kind].(interface{ Kill(string) bool }); ok && k.Kill(execID) {
			return nil
		}
		return api.Unavailable("a %s fire cannot be stopped from here", kind)
	}
	k := &protocol.Kill{ExecID: execID, Reason: reason}
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
