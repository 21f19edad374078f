package shard

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/internal/logx"
	"github.com/swarmsched/swarm/transport"
	bolt "go.etcd.io/bbolt"
)

// MetaMuxID is the mux id of the meta group; shard n uses n+1.
const MetaMuxID = 0

// ShardMuxID is the mux id of shard n.
func ShardMuxID(n int) uint64 { return uint64(n) + 1 }

// HostConfig configures a Host.
type HostConfig struct {
	// NodeID is this server's id, the same in every group. Required.
	NodeID string

	// DataDir holds one folder per group. Required.
	DataDir string

	// Advertise is the Raft address peers dial (host:port). Required.
	Advertise string

	// Mux carries every group's connections. Required.
	Mux *transport.Mux

	// ShardTimers and MetaTimers default to DefaultShardTimers and
	// DefaultMetaTimers.
	ShardTimers Timers
	MetaTimers  Timers

	// Metrics observes the groups' proposals. Nil means none.
	Metrics Metrics

	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Validate names the first missing field.
func (c HostConfig) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("host config: NodeID is required")
	case c.DataDir == "":
		return errors.New("host config: DataDir is required")
	case c.Advertise == "":
		return errors.New("host config: Advertise is required")
	case c.Mux == nil:
		return errors.New("host config: Mux is required")
	}
	return nil
}

// Host opens the Raft groups of one server.
type Host struct {
	cfg HostConfig
}

// NewHost validates cfg and fills in defaults.
func NewHost(cfg HostConfig) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ShardTimers == (Timers{}) {
		cfg.ShardTimers = DefaultShardTimers
	}
	if cfg.MetaTimers == (Timers{}) {
		cfg.MetaTimers = DefaultMetaTimers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Host{cfg: cfg}, nil
}

// NodeID is this server's id.
func (h *Host) NodeID() string { return h.cfg.NodeID }

// Advertise is this server's Raft address.
func (h *Host) Advertise() string { return h.cfg.Advertise }

// MetaDir is the folder of the meta group.
func (h *Host) MetaDir() string { return filepath.Join(h.cfg.DataDir, "meta") }

// ShardDir is the folder of shard n.
func (h *Host) ShardDir(n int) string {
	return filepath.Join(h.cfg.DataDir, "shards", strconv.Itoa(n))
}

// ShardStorePath is the FSM store file of shard n.
func (h *Host) ShardStorePath(n int) string { return filepath.Join(h.ShardDir(n), "fsm.db") }

// Group is one Raft group member on this server.
type Group struct {
	Raft  *raft.Raft
	MuxID uint64

	// Name is the group's name in logs and metrics: "meta", "shard-3".
	Name string

	logs    *raftboltdb.BoltStore
	trans   *raft.NetworkTransport
	metrics Metrics
}

// ShardGroupName is the name of shard n's group in logs and metrics.
func ShardGroupName(n int) string { return "shard-" + strconv.Itoa(n) }

// Close shuts the member down and closes its stores.
func (g *Group) Close() error {
	err := g.Raft.Shutdown().Error()
	if cerr := g.trans.Close(); err == nil {
		err = cerr
	}
	if cerr := g.logs.Close(); err == nil {
		err = cerr
	}
	return err
}

// IsLeader reports whether this member leads its group.
func (g *Group) IsLeader() bool { return g.Raft.State() == raft.Leader }

// LeaderID returns the id of the group's leader as this member knows it.
func (g *Group) LeaderID() string {
	_, id := g.Raft.LeaderWithID()
	return string(id)
}

// OpenMeta opens this server's member of the meta group. With bootstrap
// servers and no existing state, it bootstraps the group with them.
func (h *Host) OpenMeta(m *fsm.Meta, bootstrap []raft.Server) (*Group, error) {
	return h.open(MetaMuxID, h.MetaDir(), "meta", m, raftConfig(h.cfg.NodeID, h.cfg.MetaTimers, false), bootstrap)
}

// OpenShard opens this server's member of shard s's group. A store that
// is behind the newest snapshot (for example, lost and recreated) is
// restored from it first, because raft does not replay entries a snapshot
// covers.
func (h *Host) OpenShard(s *fsm.Shard, bootstrap []raft.Server) (*Group, error) {
	dir := h.ShardDir(s.ID())
	name := ShardGroupName(s.ID())
	cfg := raftConfig(h.cfg.NodeID, h.cfg.ShardTimers, true)
	return h.openWith(ShardMuxID(s.ID()), dir, name, s, cfg, bootstrap, func(snaps raft.SnapshotStore) error {
		return catchUpFromSnapshot(s, snaps)
	})
}

func (h *Host) open(muxID uint64, dir, name string, f raft.FSM, cfg *raft.Config, bootstrap []raft.Server) (*Group, error) {
	return h.openWith(muxID, dir, name, f, cfg, bootstrap, nil)
}

func (h *Host) openWith(muxID uint64, dir, name string, f raft.FSM, cfg *raft.Config, bootstrap []raft.Server, prepare func(raft.SnapshotStore) error) (*Group, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	logger := logx.HCLog(h.cfg.Logger, "raft").With("group", name)
	cfg.Logger = logger

	logPath := filepath.Join(dir, "raft.db")
	logs, err := raftboltdb.New(raftboltdb.Options{
		Path:        logPath,
		BoltOptions: &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType},
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s log store %s: locked by another process", name, logPath)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s log store %s: %w: %w", name, logPath, fsm.ErrCorrupt, err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, logger)
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("open %s snapshots: %w", name, err)
	}
	if prepare != nil {
		if err := prepare(snaps); err != nil {
			logs.Close()
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
	}

	layer, err := h.cfg.Mux.Layer(muxID, addr(h.cfg.Advertise))
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("open %s transport: %w", name, err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 2,
		Timeout: 10 * time.Second,
		Logger:  logger,
	})

	g := &Group{MuxID: muxID, Name: name, logs: logs, trans: trans, metrics: h.cfg.Metrics}
	if err := h.maybeBootstrap(cfg, logs, snaps, trans, bootstrap); err != nil {
		trans.Close()
		logs.Close()
		return nil, fmt.Errorf("bootstrap %s: %w", name, err)
	}
	g.Raft, err = raft.NewRaft(cfg, f, logs, logs, snaps, trans)
	if err != nil {
		trans.Close()
		logs.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return g, nil
}

func (h *Host) maybeBootstrap(cfg *raft.Config, logs *raftboltdb.BoltStore, snaps raft.SnapshotStore, trans raft.Transport, servers []raft.Server) error {
	if len(servers) == 0 {
		return nil
	}
	has, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil || has {
		return err
	}
	return raft.BootstrapCluster(cfg, logs, logs, snaps, trans, raft.Configuration{Servers: servers})
}

// catchUpFromSnapshot restores s from the newest snapshot when the store
// has applied less than the snapshot covers.
func catchUpFromSnapshot(s *fsm.Shard, snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	newest := list[0]
	if newest.Index <= s.AppliedIndex() {
		return nil
	}
	_, rc, err := snaps.Open(newest.ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", newest.ID, err)
	}
	return s.Restore(rc)
}

// addr is a net.Addr for an advertised host:port.
type addr string

func (a addr) Network() string { return "tcp" }
func (a addr) String() string  { return string(a) }

var _ net.Addr = addr("")

// ProposeTimeout bounds how long a proposal waits to be committed.
const ProposeTimeout = 10 * time.Second

// Propose commits a shard command and returns its result. It fails with
// raft.ErrNotLeader (wrapped) on a member that does not lead.
func (g *Group) Propose(c *fsm.Command) (*fsm.Result, error) {
	return g.ProposeAsync(c)()
}

// ProposeAsync starts a proposal of c and returns a wait for its
// outcome. Proposals started one after another enter the log in that
// order; several under way are written and applied together.
func (g *Group) ProposeAsync(c *fsm.Command) func() (*fsm.Result, error) {
	data, err := fsm.Encode(c)
	if err != nil {
		return func() (*fsm.Result, error) { return nil, err }
	}
	start := time.Now()
	f := g.Raft.Apply(data, ProposeTimeout)
	return func() (*fsm.Result, error) {
		if err := f.Error(); err != nil {
			return nil, fmt.Errorf("propose %s: %w", c.Type, err)
		}
		g.observe(start)
		res, _ := f.Response().(*fsm.Result)
		if res == nil {
			res = &fsm.Result{}
		}
		return res, nil
	}
}

// ProposeMeta commits a meta command; an *api.Error result is returned as
// the error.
func (g *Group) ProposeMeta(c *fsm.MetaCommand) error {
	data, err := fsm.EncodeMeta(c)
	if err != nil {
		return err
	}
	start := time.Now()
	f := g.Raft.Apply(data, ProposeTimeout)
	if err := f.Error(); err != nil {
		return fmt.Errorf("propose %s: %w", c.Type, err)
	}
	g.observe(start)
	if e, ok := f.Response().(error); ok && e != nil {
		return e
	}
	return nil
}

// observe reports a committed proposal's latency. Failed ones are not
// observed: a follower's refusal is quick and would hide slow commits.
func (g *Group) observe(start time.Time) {
	if g.metrics != nil {
		g.metrics.RaftApply(g.Name, time.Since(start))
	}
}

// Barrier waits until every entry committed before it is applied.
func (g *Group) Barrier(timeout time.Duration) error {
	return g.Raft.Barrier(timeout).Error()
}

// VerifyLeader confirms with a quorum that this member still leads.
func (g *Group) VerifyLeader() error { return g.Raft.VerifyLeader().Error() }
