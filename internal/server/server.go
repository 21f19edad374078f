package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/internal/clock"
	"github.com/swarmsched/swarm/internal/logx"
	"github.com/swarmsched/swarm/internal/metrics"
	"github.com/swarmsched/swarm/scheduler"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// startTimeout bounds how long Start waits for the meta group to have the
// cluster's state.
const startTimeout = 60 * time.Second

// Server is one swarm server. New builds it, Start runs it, Stop ends it.
type Server struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	id    identity

	raftLn net.Listener
	httpLn net.Listener
	mux    *transport.Mux
	host   *shard.Host

	meta         *fsm.Meta
	metaGroup    *shard.Group
	metaHandover shard.Handover // the meta group's leadership transfers

	mu      sync.RWMutex
	runners map[int]*shard.Runner

	hub      *transport.Hub
	dispatch *dispatcher
	logs     *logStore
	httpSrv  *http.Server
	api      *transport.API
	metrics  *metrics.Metrics
	notifier *transport.Notifier

	key        []byte // derived cluster key; nil without one
	tlsServer  *tls.Config
	tlsClient  *tls.Config
	tlsRaft    *tls.Config
	view       *view
	peers      *peers
	members    *members
	performers map[string]transport.Performer

	batchMu       sync.Mutex
	fireBatchers  map[string]*batcher[fireItem, string]
	eventBatchers map[string]*batcher[eventsRequest, bool]

	// Owned by the report loop.
	sentClients uint64
	reportFail  logx.Limiter

	started  atomic.Bool
	stopOnce sync.Once
	leftOnce sync.Once
	left     chan struct{}

	// Owned by the placement loop.
	placeSince time.Time
	placeFail  logx.Limiter

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// OnFirer, if set before Start, sees every Firer before it starts.
	OnFirer func(*shard.Firer)

	// Notify, if set before Start, tunes the alert webhooks (tests
	// shorten the retry backoff); zero fields take the defaults.
	Notify transport.NotifierConfig
}

// New validates cfg and prepares a server; it opens nothing.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, clock: clock.Real{}, runners: map[int]*shard.Runner{}, fireBatchers: map[string]*batcher[fireItem, string]{}, eventBatchers: map[string]*batcher[eventsRequest, bool]{}}
	s.key = derivedKey(cfg.ClusterKey)
	s.metrics = metrics.New()
	s.view = newView()
	s.peers = newPeers(s)
	s.reportFail.Interval, s.placeFail.Interval = 30*time.Second, 30*time.Second
	return s, nil
}

// HTTPAddr is the address the API listens on (after Start).
func (s *Server) HTTPAddr() string { return s.id.HTTP }

// NodeID is this server's id (after Start).
func (s *Server) NodeID() string { return s.id.NodeID }

// Start opens the stores and groups, bootstraps a new cluster when the data
// dir is new and nothing is to be joined, and serves.
func (s *Server) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.start(ctx); err != nil {
		s.Stop()
		return err
	}
	return nil
}

func (s *Server) start(ctx context.Context) error {
	fresh, err := s.loadIdentity()
	if err != nil {
		return err
	}
	if err := s.listen(); err != nil {
		return err
	}
	if err := s.startGossip(); err != nil {
		return err
	}
	if err := s.openMeta(fresh); err != nil {
		return err
	}
	if err := s.openHub(); err != nil {
		return err
	}
	if err := s.openPerformers(); err != nil {
		return err
	}
	// The HTTP API serves before the cluster is up: a joining server must
	// answer its peers' calls while it catches up.
	if err := s.serve(); err != nil {
		return err
	}
	if err := s.joinCluster(ctx, fresh); err != nil {
		return err
	}
	if err := s.waitForCluster(ctx, fresh); err != nil {
		return err
	}
	if fresh && len(s.cfg.Join) == 0 {
		if err := s.bootstrapAdminToken(); err != nil {
			return err
		}
	}
	if !fresh {
		s.awaitMetaCatchUp(ctx)
	}
	if err := s.syncReplicas(); err != nil {
		return err
	}
	if err := s.shardsCreated(); err != nil {
		return err
	}
	s.startLoops()
	s.started.Store(true)
	s.warnIfExposed()
	s.log.Info("server started", "node_id", s.id.NodeID, "http", s.id.HTTP, "raft", s.id.Raft, "shards", len(s.meta.State().Shards))
	return nil
}

// joinCluster joins the cluster named by Join on a first start; a restart
// asks known peers to make sure it is still a member, in the background.
func (s *Server) joinCluster(ctx context.Context, fresh bool) error {
	if fresh && len(s.cfg.Join) > 0 {
		jctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		return s.join(jctx, s.cfg.Join)
	}
	if fresh {
		return nil
	}
	peers := append(slices.Clone(s.cfg.Join), s.knownPeers()...)
	if len(peers) == 0 {
		return nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.join(s.ctx, peers); err != nil && s.ctx.Err() == nil {
			s.log.Warn("rejoin failed", "error", err)
		}
	}()
	return nil
}

// startGossip runs memberlist on the gossip address, when one is set.
func (s *Server) startGossip() error {
	addr := firstOf(s.cfg.GossipAddr, s.id.Gossip)
	if addr == "" {
		return nil
	}
	m, err := startMembers(s.id.NodeID, addr, s.key, s.log)
	if err != nil {
		return err
	}
	s.members = m
	s.id.Gossip = m.Addr()
	return saveIdentity(s.cfg.DataDir, s.id)
}

// startLoops starts the periodic work every server does.
func (s *Server) startLoops() {
	s.runLoop(reportEvery, s.reportOnce)
	s.runLoop(placeEvery, s.placeOnce)
	s.runLoop(time.Second, func(time.Time) { s.gossipJoin() })
	s.followMeta()
	changed := s.meta.Watch()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-changed:
			case <-t.C:
			}
			s.syncReplicas() // logs what it cannot open; retried next time
			s.restartWedged()
		}
	}()
}

// followMeta counts this server's changes of meta leadership; the shard
// groups' are counted by their runners.
func (s *Server) followMeta() {
	leaderCh := s.metaGroup.Raft.LeaderCh()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-leaderCh:
				s.metrics.LeaderChange(s.metaGroup.Name)
			}
		}
	}()
}

// gossipJoin joins the gossip addresses of known servers this server does
// not see yet.
func (s *Server) gossipJoin() {
	if s.members == nil {
		return
	}
	var addrs []string
	for id, srv := range s.meta.State().Servers {
		if id != s.id.NodeID && srv.Gossip != "" && !s.members.alive(id) && srv.State != fsm.ServerLeft {
			addrs = append(addrs, srv.Gossip)
		}
	}
	s.members.join(addrs)
}

// loadIdentity reads or creates node.json; fresh means a new data dir.
func (s *Server) loadIdentity() (bool, error) {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return false, fmt.Errorf("create data dir: %w", err)
	}
	id, ok, err := loadIdentity(s.cfg.DataDir)
	if err != nil {
		return false, err
	}
	if ok {
		if s.cfg.NodeID != "" && s.cfg.NodeID != id.NodeID {
			return false, fmt.Errorf("node-id: %q differs from %q recorded in %s", s.cfg.NodeID, id.NodeID, s.cfg.DataDir)
		}
		s.id = id
		return false, nil
	}
	s.id = identity{NodeID: s.cfg.NodeID, Shards: s.cfg.Shards, Replicas: s.cfg.Replicas}
	if s.id.NodeID == "" {
		s.id.NodeID = newNodeID()
	}
	return true, nil
}

// listen binds the Raft and HTTP listeners. A restart binds the addresses
// recorded at the first start unless flags say otherwise.
func (s *Server) listen() error {
	if err := s.loadTLS(); err != nil {
		return err
	}
	raftAddr := firstOf(s.cfg.RaftAddr, s.id.Raft, DefaultRaftAddr)
	httpAddr := firstOf(s.cfg.HTTPAddr, s.id.HTTP, DefaultHTTPAddr)
	var err error
	if s.raftLn, err = net.Listen("tcp", raftAddr); err != nil {
		return fmt.Errorf("raft: listen %s: %w", raftAddr, err)
	}
	if s.httpLn, err = net.Listen("tcp", httpAddr); err != nil {
		return fmt.Errorf("http: listen %s: %w", httpAddr, err)
	}
	s.id.Raft = advertise(s.cfg.RaftAdvertise, s.raftLn.Addr())
	s.id.HTTP = advertise(s.cfg.HTTPAdvertise, s.httpLn.Addr())
	if err := saveIdentity(s.cfg.DataDir, s.id); err != nil {
		return err
	}

	raftLn, httpLn := s.raftLn, s.httpLn
	if s.tlsServer != nil {
		raftLn = tls.NewListener(s.raftLn, s.tlsRaft)
		s.httpLn = tls.NewListener(httpLn, s.tlsServer)
	}
	s.mux = transport.NewMux(raftLn, s.log.With("component", "raft_mux"))
	if s.tlsClient != nil {
		s.mux.SetDialer(s.tlsDialer)
	}
	if s.key != nil {
		s.mux.SetKey(s.key)
	}
	s.host, err = shard.NewHost(shard.HostConfig{
		NodeID:      s.id.NodeID,
		DataDir:     s.cfg.DataDir,
		Advertise:   s.id.Raft,
		Mux:         s.mux,
		ShardTimers: s.cfg.ShardTimers,
		MetaTimers:  s.cfg.MetaTimers,
		Metrics:     s.metrics,
		Logger:      s.log,
	})
	return err
}

func (s *Server) self() raft.Server {
	return raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(s.id.NodeID), Address: raft.ServerAddress(s.id.Raft)}
}

func (s *Server) openMeta(fresh bool) error {
	s.meta = fsm.NewMeta()
	var boot []raft.Server
	if fresh && len(s.cfg.Join) == 0 {
		boot = []raft.Server{s.self()}
	}
	g, err := s.host.OpenMeta(s.meta, boot)
	if err != nil {
		return err
	}
	s.metaGroup = g
	return nil
}

// waitForCluster waits until the meta state holds the cluster. The server
// that bootstraps a new cluster proposes its first state once it leads.
func (s *Server) waitForCluster(ctx context.Context, fresh bool) error {
	deadline := time.Now().Add(startTimeout)
	changed := s.meta.Watch()
	for s.meta.State().ClusterID == "" {
		if time.Now().After(deadline) {
			return errors.New("start: the meta group did not come up; is a quorum of its voters running?")
		}
		if fresh && len(s.cfg.Join) == 0 && s.metaGroup.IsLeader() {
			if err := s.bootstrapCluster(); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// awaitMetaCatchUp waits, briefly, until a restarted server's meta replica
// has heard from a leader and applied what it committed, so the replicas
// it opens follow the cluster's current shard map, not an old one.
func (s *Server) awaitMetaCatchUp(ctx context.Context) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r := s.metaGroup.Raft
		commit := r.CommitIndex()
		if s.metaGroup.LeaderID() != "" && commit > 0 && r.AppliedIndex() >= commit {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.log.Warn("meta group not caught up; opening replicas from the state known so far")
}

// shardsCreated records, once the server that created the cluster has
// created the shard groups, that it must never create them again: a
// group it later leaves and whose files it deletes would otherwise come
// back as a second, empty group with the same id (split brain).
func (s *Server) shardsCreated() error {
	if !s.id.CreatesShards {
		return nil
	}
	s.id.CreatesShards = false
	return saveIdentity(s.cfg.DataDir, s.id)
}

// bootstrapCluster writes the first meta state: this server, and every
// shard with this server as its only replica, owning an even share of the
// slots. The data dir records that this server creates the shard groups,
// so a crash before they exist does not strand them.
func (s *Server) bootstrapCluster() error {
	s.id.CreatesShards = true
	if err := saveIdentity(s.cfg.DataDir, s.id); err != nil {
		return err
	}
	shards := make([]fsm.ShardInfo, s.id.Shards)
	for i := range shards {
		shards[i] = fsm.ShardInfo{ID: i, Replicas: []string{s.id.NodeID}}
	}
	state := &fsm.MetaState{
		ClusterID: fmt.Sprintf("%016x", randUint64()),
		Replicas:  s.id.Replicas,
		Servers: map[string]*fsm.ServerInfo{s.id.NodeID: {
			ID: s.id.NodeID, RaftAddr: s.id.Raft, HTTPAddr: s.id.HTTP, Gossip: s.id.Gossip, State: fsm.ServerAlive,
		}},
		Shards: shards,
		Slots:  fsm.EvenSlots(s.id.Shards),
	}
	err := s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaBootstrap, NowMS: s.clock.Now().UnixMilli(), Bootstrap: state})
	if err != nil {
		return fmt.Errorf("bootstrap cluster: %w", err)
	}
	s.log.Info("cluster bootstrapped", "cluster_id", state.ClusterID, "shards", s.id.Shards)
	return nil
}

func (s *Server) openShard(info fsm.ShardInfo) error {
	store, err := fsm.OpenShard(info.ID, s.host.ShardStorePath(info.ID))
	if err != nil {
		return fmt.Errorf("open shard %d: %w", info.ID, err)
	}
	// The server that created the cluster creates the shard groups; any
	// other replica waits to be added by its group's leader. A group with
	// state is never bootstrapped again.
	var boot []raft.Server
	if s.id.CreatesShards && len(info.Replicas) == 1 && info.Replicas[0] == s.id.NodeID {
		boot = []raft.Server{s.self()}
	}
	g, err := s.host.OpenShard(store, boot)
	if err != nil {
		store.Close()
		return err
	}
	r := shard.NewRunner(store, g, s.firerConfig())
	r.OnFirer = s.OnFirer
	r.Membership = membership{s}
	s.mu.Lock()
	s.runners[info.ID] = r
	s.mu.Unlock()
	r.Start(s.ctx)
	return nil
}

func (s *Server) firerConfig() shard.FirerConfig {
	return shard.FirerConfig{
		NodeID:           s.id.NodeID,
		MisfireThreshold: s.cfg.MisfireThreshold,
		ClientGrace:      s.cfg.ClientGrace,
		Calendars:        s.calendar,
		Dispatcher:       s.dispatch,
		Metrics:          s.metrics,
		Notifier:         s.notifier,
		Logger:           s.log,
	}
}

// calendar compiles a stored calendar (with its base chain).
func (s *Server) calendar(name string) (scheduler.Calendar, error) {
	return compileCalendar(s.meta.State(), name, 0)
}

func compileCalendar(st *fsm.MetaState, name string, depth int) (scheduler.Calendar, error) {
	spec, ok := st.Calendars[name]
	if !ok {
		return nil, fmt.Errorf("calendar %q not found", name)
	}
	if depth > 16 {
		return nil, fmt.Errorf("calendar %q: base calendars nest too deep", name)
	}
	return scheduler.CompileCalendar(spec, func(base string) (scheduler.Calendar, error) {
		return compileCalendar(st, base, depth+1)
	})
}

func (s *Server) runner(n int) *shard.Runner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.runners[n]
}

// Stop ends serving and closes everything, in the reverse order of Start.
// It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(s.stop)
}

func (s *Server) stop() {
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.httpSrv.Shutdown(ctx)
		cancel()
	}
	if s.hub != nil {
		s.hub.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.members != nil {
		s.members.stop()
	}

	s.mu.Lock()
	runners := s.runners
	s.runners = map[int]*shard.Runner{}
	s.mu.Unlock()
	for n, r := range runners {
		if err := r.Close(); err != nil {
			s.log.Warn("close shard", "shard", n, "error", err)
		}
	}
	s.closePerformers()
	if s.notifier != nil {
		s.notifier.Close() // after the runners: no fire loop notifies now
	}
	if s.metaGroup != nil {
		if err := s.metaGroup.Close(); err != nil {
			s.log.Warn("close meta group", "error", err)
		}
	}
	if s.mux != nil {
		s.mux.Close()
	} else if s.raftLn != nil {
		s.raftLn.Close()
	}
	if s.httpSrv == nil && s.httpLn != nil {
		s.httpLn.Close()
	}
}

func (s *Server) warnIfExposed() {
	if s.cfg.Auth && s.tlsServer != nil {
		return
	}
	for _, a := range []string{s.httpLn.Addr().String(), s.raftLn.Addr().String()} {
		host, _, _ := net.SplitHostPort(a)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			s.log.Warn("listening beyond loopback without authentication or TLS", "addr", a)
			return
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
