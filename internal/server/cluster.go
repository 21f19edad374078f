package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// Cluster defaults.
const (
	DefaultDeadServerTimeout = 60 * time.Second
	DefaultMetaVoters        = 3

	placeEvery = time.Second
)

// shardLeader returns the server leading shard n: as this server's
// replica knows it, else as the last report said.
func (s *Server) shardLeader(n int) string {
	if r := s.runner(n); r != nil {
		if id := r.Group.LeaderID(); id != "" {
			return id
		}
	}
	return s.view.leaderOf(n)
}

// membership lets shard leaders reconcile their groups with the desired
// replicas of the meta state.
type membership struct{ s *Server }

func (m membership) Desired(n int) (fsm.ShardInfo, bool) { return m.s.meta.State().Shard(n) }

func (m membership) RaftAddr(server string) (string, bool) {
	srv, ok := m.s.meta.State().Servers[server]
	if !ok {
		return "", false
	}
	return srv.RaftAddr, true
}

func (m membership) Applied(n int, server string) (uint64, bool) {
	if server == m.s.id.NodeID {
		if r := m.s.runner(n); r != nil {
			return r.Group.Raft.AppliedIndex(), true
		}
	}
	return m.s.view.applied(n, server)
}

// fireBatcher returns the batcher of fires to one server.
func (s *Server) fireBatcher(server string) *batcher[fireItem, string] {
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	if b, ok := s.fireBatchers[server]; ok {
		return b
	}
	b := &batcher[fireItem, string]{
		max:   256,
		delay: 2 * time.Millisecond,
		wg:    &s.wg,
		ctx:   s.ctx,
		send: func(ctx context.Context, items []fireItem) ([]string, error) {
			var out firesReply
			err := s.peers.call(ctx, server, "POST", "/v1/internal/fires", firesRequest{Items: items}, &out)
			return out.Errors, err
		},
	}
	s.fireBatchers[server] = b
	return b
}

// runLoop runs fn every period until Stop, on a goroutine the server owns.
func (s *Server) runLoop(period time.Duration, fn func(now time.Time)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case now := <-t.C:
				fn(now)
			}
		}
	}()
}

// --- reports ---

func (s *Server) buildReport(now time.Time) *report {
	clients, version := s.hub.ClientsVersion()
	r := &report{Server: s.id.NodeID, AtMS: now.UnixMilli(), Load: s.localLoad(), ClientsVersion: version, Known: s.view.known()}
	r.Load.ReportedAt = &now
	if s.sentClients != version {
		r.Clients = clients
		if r.Clients == nil {
			r.Clients = []transport.ClientInfo{}
		}
	}
	s.mu.RLock()
	for n, rn := range s.runners {
		rep := shardRept{ID: n, Term: rn.Group.Raft.CurrentTerm(), Applied: rn.Group.Raft.AppliedIndex(), Jobs: rn.Shard.JobCount()}
		if rn.Group.IsLeader() {
			rep.Leader = true
			rep.Voters, rep.Nonvoters = configOf(rn.Group.Raft)
			rep.Warming = true // until its fire loop runs, its rate is unknown
			if f := rn.Firer(); f != nil {
				rep.Fires, rep.Warming = f.FiresPerSecond(), f.Warming()
			}
		}
		r.Shards = append(r.Shards, rep)
	}
	s.mu.RUnlock()
	return r
}

func configOf(r *raft.Raft) (voters, nonvoters []string) {
	fut := r.GetConfiguration()
	if fut.Error() != nil {
		return nil, nil
	}
	for _, srv := range fut.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			voters = append(voters, string(srv.ID))
		} else {
			nonvoters = append(nonvoters, string(srv.ID))
		}
	}
	return voters, nonvoters
}

// reportOnce sends this server's report to the meta leader and learns the
// cluster view from the answer.
func (s *Server) reportOnce(now time.Time) {
	rep := s.buildReport(now)
	leader := s.metaGroup.LeaderID()
	var reply reportReply
	switch {
	case leader == "":
		return
	case leader == s.id.NodeID:
		if !s.metaGroup.IsLeader() {
			return
		}
		reply = s.view.accept(rep, s.id.NodeID, now)
	default:
		ctx, cancel := context.WithTimeout(s.ctx, reportEvery*3)
		err := s.peers.call(ctx, leader, "POST", "/v1/internal/report", rep, &reply)
		cancel()
		if err != nil {
			if ok, n := s.reportFail.Allow(now); ok {
				s.log.Warn("report to meta leader failed", "meta_leader", leader, "error", err, "suppressed", n)
			}
			return
		}
	}
	if s.reportFail.Recovered() {
		s.log.Info("reports to meta leader recovered")
	}
	s.sentClients = rep.ClientsVersion
	if reply.NeedClients {
		s.sentClients = 0
	}
	s.view.learn(reply, now)
}

// --- placement (meta leader) ---

// placeOnce runs on the meta leader: it marks servers dead or alive,
// applies placement's changes to the desired replicas, and keeps the meta
// group's voters on the first servers.
func (s *Server) placeOnce(now time.Time) {
	if !s.metaGroup.IsLeader() {
		s.placeSince = time.Time{}
		return
	}
	if s.placeSince.IsZero() {
		// A new meta leader waits one report period for reports to arrive.
		s.placeSince = now
		return
	}
	st := s.meta.State()
	up, gone := s.liveness(st, now)
	if err := s.markServers(st, gone); err != nil {
		s.logPlaceError(now, err)
		return
	}
	if err := s.reconcileMeta(st, up, gone); err != nil {
		s.logPlaceError(now, err)
	}
	ops := shard.Plan(shard.PlanInput{State: st, Up: up, Gone: gone, Shards: s.view.shardViews()})
	if len(ops) == 0 {
		return
	}
	for _, op := range ops {
		s.log.Info("placement change", "shard", op.ID, "replicas", op.Replicas, "preferred_leader", op.Leader)
	}
	err := s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaSetReplicas, NowMS: now.UnixMilli(), Shards: ops})
	if err != nil {
		s.logPlaceError(now, err)
	}
}

func (s *Server) logPlaceError(now time.Time, err error) {
	if ok, n := s.placeFail.Allow(now); ok {
		s.log.Warn("placement step failed", "error", err, "suppressed", n)
	}
}

// suspectAfter: a server unseen this long gets no new replica or
// leadership (it keeps what it has until the dead-server timeout).
const suspectAfter = 4 * reportEvery

// liveness says which servers are up (seen recently: failure detection or
// a report) and which are gone (unseen past the dead-server timeout). A
// new meta leader counts its start as a report from everyone.
func (s *Server) liveness(st *fsm.MetaState, now time.Time) (up, gone map[string]bool) {
	up, gone = map[string]bool{}, map[string]bool{}
	for id, srv := range st.Servers {
		if srv.State == fsm.ServerLeft {
			continue
		}
		last, ok := s.view.lastSeen(id)
		if !ok || last.Before(s.placeSince) {
			last = s.placeSince
		}
		if s.members != nil && s.members.alive(id) {
			last = now
		}
		up[id] = now.Sub(last) <= suspectAfter
		gone[id] = now.Sub(last) > s.cfg.DeadServerTimeout
	}
	up[s.id.NodeID], gone[s.id.NodeID] = true, false
	return up, gone
}

// markServers records dead servers, and dead ones that came back.
func (s *Server) markServers(st *fsm.MetaState, gone map[string]bool) error {
	for _, id := range sortedNames(st.Servers) {
		srv := st.Servers[id]
		next := srv.State
		switch {
		case srv.State == fsm.ServerAlive && gone[id]:
			next = fsm.ServerDead
		case srv.State == fsm.ServerDead && !gone[id]:
			next = fsm.ServerAlive
		case srv.State == fsm.ServerLeaving && s.drained(st, id):
			next = fsm.ServerLeft
		}
		if next == srv.State {
			continue
		}
		s.log.Info("server state changed", "server", id, "from", srv.State, "to", next)
		err := s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaServerState, NowMS: s.clock.Now().UnixMilli(), Name: id, State: next})
		if err != nil {
			return fmt.Errorf("mark %s %s: %w", id, next, err)
		}
	}
	return nil
}

// drained reports whether a leaving server holds no replica any more.
func (s *Server) drained(st *fsm.MetaState, id string) bool {
	for _, sh := range st.Shards {
		if slices.Contains(sh.Replicas, id) {
			return false
		}
	}
	return true
}

// reconcileMeta keeps the meta group's membership: every live server a
// member, the first MetaVoters of them voting, the gone ones removed.
func (s *Server) reconcileMeta(st *fsm.MetaState, up, gone map[string]bool) error {
	voters, nonvoters := configOf(s.metaGroup.Raft)
	members := append(slices.Clone(voters), nonvoters...)
	for _, id := range sortedNames(st.Servers) {
		srv := st.Servers[id]
		if !slices.Contains(members, id) && up[id] && srv.State != fsm.ServerLeft {
			return s.ensureMetaMember(id, srv.RaftAddr)
		}
	}
	want := shard.MetaVoters(st, up, gone, voters, s.cfg.MetaVoters)
	for _, id := range want {
		if !slices.Contains(voters, id) {
			s.log.Info("meta voter added", "server", id)
			return s.metaGroup.Raft.AddVoter(raft.ServerID(id), raft.ServerAddress(st.Servers[id].RaftAddr), 0, 10*time.Second).Error()
		}
	}
	for _, id := range members {
		srv, known := st.Servers[id]
		gone := !known || srv.State == fsm.ServerLeft || srv.State == fsm.ServerDead
		extraVoter := slices.Contains(voters, id) && !slices.Contains(want, id) && len(want) >= min(s.cfg.MetaVoters, len(voters))
		switch {
		case id == s.id.NodeID && (gone || extraVoter) && !s.metaHandover.Tried(s.metaGroup.Raft, ""):
			// Hand leadership over once per term (shard.Handover says
			// why); after that the leader removes or demotes itself below,
			// which steps it down.
			s.log.Info("meta leadership transfer")
			return s.metaHandover.Transfer(s.metaGroup.Raft, "", "")
		case gone:
			s.log.Info("meta member removed", "server", id)
			return s.metaGroup.Raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error()
		case extraVoter:
			s.log.Info("meta voter demoted", "server", id)
			return s.metaGroup.Raft.DemoteVoter(raft.ServerID(id), 0, 10*time.Second).Error()
		}
	}
	return nil
}

// --- local replicas ---

// syncReplicas opens the shard replicas the meta state gives this server
// and closes (then deletes) those it took away once the group removed this
// server. It returns the first replica it could not open (at start, that
// stops the server: a damaged store is never silently left out).
func (s *Server) syncReplicas() error {
	st := s.meta.State()
	var first error
	for _, info := range st.Shards {
		if slices.Contains(info.Replicas, s.id.NodeID) && s.runner(info.ID) == nil {
			if err := s.openShard(info); err != nil {
				s.log.Warn("open shard replica", "shard", info.ID, "error", err)
				first = cmp.Or(first, err)
			}
		}
	}
	for _, n := range s.localShards() {
		info, ok := st.Shard(n)
		if ok && slices.Contains(info.Replicas, s.id.NodeID) {
			continue
		}
		if r := s.runner(n); r != nil && !s.removedFrom(r) {
			continue // still a member: wait for the leader to remove it
		}
		s.dropShard(n)
	}
	return first
}

// restartWedged closes and reopens every replica whose member leads but
// whose Raft group refuses every write as a leadership transfer that never
// ends (shard.Runner.Wedged): a new raft.Raft is the only way to clear it.
// The member steps down as it closes, so another replica takes the shard
// over meanwhile.
func (s *Server) restartWedged() {
	now := s.clock.Now()
	for _, n := range s.localShards() {
		r := s.runner(n)
		if r == nil || !r.Wedged(now) {
			continue
		}
		info, ok := s.meta.State().Shard(n)
		if !ok {
			continue
		}
		s.log.Error("shard replica wedged, restarting it", "shard", n)
		s.mu.Lock()
		delete(s.runners, n)
		s.mu.Unlock()
		if err := r.Close(); err != nil {
			s.log.Warn("close shard replica", "shard", n, "error", err)
		}
		if err := s.openShard(info); err != nil {
			s.log.Error("reopen shard replica", "shard", n, "error", err)
		}
	}
}

func (s *Server) localShards() []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]int, 0, len(s.runners))
	for n := range s.runners {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// removedFrom reports whether the group's configuration no longer holds
// this server (or the group cannot say, having no leader for long).
func (s *Server) removedFrom(r *shard.Runner) bool {
	voters, nonvoters := configOf(r.Group.Raft)
	return !slices.Contains(voters, s.id.NodeID) && !slices.Contains(nonvoters, s.id.NodeID)
}

func (s *Server) dropShard(n int) {
	s.mu.Lock()
	r := s.runners[n]
	delete(s.runners, n)
	s.mu.Unlock()
	if r != nil {
		if err := r.Close(); err != nil {
			s.log.Warn("close shard replica", "shard", n, "error", err)
		}
	}
	if err := os.RemoveAll(s.host.ShardDir(n)); err != nil {
		s.log.Warn("delete shard replica", "shard", n, "error", err)
		return
	}
	s.log.Info("shard replica dropped", "shard", n)
}

// --- join ---

// join asks a member to add this server; any member forwards the request
// to the meta leader. It retries until one answers or ctx ends.
func (s *Server) join(ctx context.Context, addrs []string) error {
	req := joinRequest{NodeID: s.id.NodeID, Raft: s.id.Raft, HTTP: s.id.HTTP, Gossip: s.id.Gossip}
	var last error
	for attempt := 0; ; attempt++ {
		for _, addr := range addrs {
			var out joinReply
			cctx, cancel := context.WithTimeout(ctx, peerTimeout)
			err := s.peers.callAddr(cctx, addr, "POST", "/v1/internal/join", req, &out)
			cancel()
			if err == nil {
				s.log.Info("joined cluster", "via", addr, "cluster_id", out.ClusterID)
				return nil
			}
			var e *api.Error
			if errors.As(err, &e) && e.Code == api.CodeConflict {
				return fmt.Errorf("join: %w", err)
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("join %v: %w (last error: %v)", addrs, ctx.Err(), last)
		case <-time.After(min(time.Duration(attempt+1)*500*time.Millisecond, 5*time.Second)):
		}
	}
}

// knownPeers lists the HTTP addresses of the other servers the meta state
// knows, for a restarted server to rejoin through.
func (s *Server) knownPeers() []string {
	var out []string
	st := s.meta.State()
	for _, id := range sortedNames(st.Servers) {
		if id != s.id.NodeID && st.Servers[id].HTTPAddr != "" {
			out = append(out, st.Servers[id].HTTPAddr)
		}
	}
	return out
}

// --- leaving ---

// requestLeave asks the meta leader to drain this server.
func (s *Server) requestLeave(ctx context.Context) error {
	leader := s.metaGroup.LeaderID()
	req := leaveRequest{NodeID: s.id.NodeID}
	if leader == "" {
		return api.Unavailable("the meta group has no leader; retry")
	}
	if leader == s.id.NodeID {
		return proposeError(s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaServerState, NowMS: s.clock.Now().UnixMilli(), Name: s.id.NodeID, State: fsm.ServerLeaving}))
	}
	return s.peers.call(ctx, leader, "POST", "/v1/internal/leave", req, nil)
}

// Leave drains this server and returns once placement moved everything
// away (its state is "left").
func (s *Server) Leave(ctx context.Context) error {
	if err := s.requestLeave(ctx); err != nil {
		return err
	}
	select {
	case <-s.Left():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Left is closed once the meta state records this server as left.
func (s *Server) Left() <-chan struct{} {
	s.leftOnce.Do(func() {
		s.left = make(chan struct{})
		changed := s.meta.Watch()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				if srv, ok := s.meta.State().Servers[s.id.NodeID]; ok && srv.State == fsm.ServerLeft {
					close(s.left)
					return
				}
				select {
				case <-s.ctx.Done():
					return
				case <-changed:
				case <-time.After(time.Second):
				}
			}
		}()
	})
	return s.left
}
