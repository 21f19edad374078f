package fsm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// metaFormat is the version byte of meta commands and snapshots; a server
// refuses a newer one rather than misread it.
const metaFormat = 1

// NumSlots is the number of hash slots job keys map to.
const NumSlots = 16384

// Server states in the meta group.
const (
	ServerAlive   = "alive"
	ServerLeaving = "leaving" // draining: its replicas move elsewhere
	ServerLeft    = "left"
	ServerDead    = "dead"
)

// MetaState is the meta group's replicated state: the cluster's shape.
// Values returned by Meta.State are shared and must not be modified.
type MetaState struct {
	ClusterID string `json:"cluster_id"`

	// Epoch increases with every change of servers, shards or slots.
	Epoch uint64 `json:"epoch"`

	// Replicas is the replication factor of shards.
	Replicas int `json:"replicas"`

	Servers map[string]*ServerInfo `json:"servers"`
	Shards  []ShardInfo            `json:"shards"`
	Slots   []SlotRange            `json:"slots"`

	Calendars    map[string]scheduler.CalendarSpec `json:"calendars,omitempty"`
	PausedGroups map[string]bool                   `json:"paused_groups,omitempty"`

	// Tokens are the API tokens, by id; only a hash of each secret is kept.
	Tokens map[string]*Token `json:"tokens,omitempty"`

	slotShard []int // NumSlots entries, derived from Slots
}

// ServerInfo is a server as the meta group knows it.
type ServerInfo struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	Gossip   string `json:"gossip_addr,omitempty"`
	State    string `json:"state"`
	JoinedMS int64  `json:"joined_ms"`
}

// Token is an API token as the cluster keeps it: its secret is never
// stored, only its SHA-256.
type Token struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	Role      string   `json:"role"`
	Groups    []string `json:"groups,omitempty"` // client role: the groups it may serve
	Hash      string   `json:"hash"`             // hex SHA-256 of the secret
	CreatedMS int64    `json:"created_ms"`
}

// ShardInfo says which servers should hold a shard's replicas. The meta
// leader's placement changes it; the shard's leader moves the group's Raft
// configuration toward it.
type ShardInfo struct {
	ID int `json:"id"`

	// Replicas are the servers that should hold the shard. During a move
	// it has one more entry than the replication factor.
	Replicas []string `json:"replicas"`

	// Leader, when set, is the server that should lead the shard (leader
	// balancing); the current leader transfers leadership to it once it is
	// a caught-up voter.
	Leader string `json:"leader,omitempty"`
}

// SlotRange maps slots [From, To] to a shard.
type SlotRange struct {
	From  int `json:"from"`
	To    int `json:"to"`
	Shard int `json:"shard"`
}

// ShardOfSlot returns the shard owning slot.
func (m *MetaState) ShardOfSlot(slot int) (int, bool) {
	if slot < 0 || slot >= len(m.slotShard) {
		return 0, false
	}
	s := m.slotShard[slot]
	return s, s >= 0
}

// Shard returns a shard's info.
func (m *MetaState) Shard(id int) (ShardInfo, bool) {
	for _, s := range m.Shards {
		if s.ID == id {
			return s, true
		}
	}
	return ShardInfo{}, false
}

// SlotRangesOf lists the slot ranges a shard owns.
func (m *MetaState) SlotRangesOf(shard int) []SlotRange {
	var out []SlotRange
	for _, r := range m.Slots {
		if r.Shard == shard {
			out = append(out, r)
		}
	}
	return out
}

func (m *MetaState) derive() {
	m.slotShard = make([]int, NumSlots)
	for i := range m.slotShard {
		m.slotShard[i] = -1
	}
	for _, r := range m.Slots {
		for s := r.From; s <= r.To && s < NumSlots; s++ {
			m.slotShard[s] = r.Shard
		}
	}
}

func (m *MetaState) clone() *MetaState {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	c := &MetaState{}
	if err := json.Unmarshal(b, c); err != nil {
		panic(err)
	}
	c.derive()
	return c
}

// EvenSlots splits the slots into n contiguous ranges, one per shard.
func EvenSlots(n int) []SlotRange {
	out := make([]SlotRange, n)
	for i := range n {
		out[i] = SlotRange{From: i * NumSlots / n, To: (i+1)*NumSlots/n - 1, Shard: i}
	}
	return out
}

// Meta command types.
const (
	MetaBootstrap      = "bootstrap"
	MetaUpsertServer   = "upsert_server"
	MetaSetReplicas    = "set_replicas"
	MetaServerState    = "server_state"
	MetaPutCalendar    = "put_calendar"
	MetaDeleteCalendar = "delete_calendar"
	MetaPauseGroup     = "pause_group"
	MetaResumeGroup    = "resume_group"
	MetaPutToken       = "put_token"
	MetaRevokeToken    = "revoke_token"
)

// MetaCommand is one entry of the meta group's log.
type MetaCommand struct {
	Type  string `json:"type"`
	NowMS int64  `json:"now_ms"`

	Bootstrap *MetaState              `json:"bootstrap,omitempty"`
	Server    *ServerInfo             `json:"server,omitempty"`
	Shard     *ShardInfo              `json:"shard,omitempty"`
	Shards    []ShardInfo             `json:"shards,omitempty"`
	State     string                  `json:"state,omitempty"`
	Calendar  *scheduler.CalendarSpec `json:"calendar,omitempty"`
	Token     *Token                  `json:"token,omitempty"`
	Name      string                  `json:"name,omitempty"`

	// Create makes put_calendar fail when the calendar exists.
	Create bool `json:"create,omitempty"`
}

// EncodeMeta serializes a meta command.
func EncodeMeta(c *MetaCommand) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Type, err)
	}
	return append([]byte{metaFormat}, b...), nil
}

// Meta is the meta group's state machine. The state is small and kept in
// memory; a snapshot is its JSON. Reads are lock-free.
type Meta struct {
	state atomic.Pointer[MetaState]

	mu       sync.Mutex
	watchers []chan struct{}
}

var _ raft.FSM = (*Meta)(nil)

// NewMeta returns an empty meta state machine.
func NewMeta() *Meta {
	m := &Meta{}
	empty := &MetaState{Servers: map[string]*ServerInfo{}}
	empty.derive()
	m.state.Store(empty)
	return m
}

// State returns the current state; callers must not modify it.
func (m *Meta) State() *MetaState { return m.state.Load() }

// Watch returns a channel that receives (without blocking the FSM) after
// every change.
func (m *Meta) Watch() <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.watchers = append(m.watchers, ch)
	m.mu.Unlock()
	return ch
}

func (m *Meta) notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Apply applies one meta command; it returns an *api.Error or nil.
func (m *Meta) Apply(l *raft.Log) interface{} {
	if l.Type != raft.LogCommand {
		return nil
	}
	if len(l.Data) == 0 || l.Data[0] > metaFormat {
		panic("swarm: meta: entry of an unknown format (upgrade this server to follow the log)")
	}
	var c MetaCommand
	if err := json.Unmarshal(l.Data[1:], &c); err != nil {
		panic(fmt.Sprintf("swarm: meta: decode entry: %v", err))
	}

	next := m.State().clone()
	if err := next.apply(&c); err != nil {
		return err
	}
	next.derive()
	m.state.Store(next)
	m.notify()
	return nil
}

func (s *MetaState) apply(c *MetaCommand) *api.Error {
	switch c.Type {
	case MetaBootstrap:
		if s.ClusterID != "" {
			return conflict("cluster already bootstrapped")
		}
		*s = *c.Bootstrap.clone()
		s.Epoch++
	case MetaUpsertServer:
		s.upsertServer(c.Server, c.NowMS)
		s.Epoch++
	case MetaSetReplicas:
		for _, sh := range c.Shards {
			s.setReplicas(sh)
		}
		if c.Shard != nil {
			s.setReplicas(*c.Shard)
		}
		s.Epoch++
	case MetaServerState:
		srv, ok := s.Servers[c.Name]
		if !ok {
			return api.NotFound("server %s not found", c.Name)
		}
		cp := *srv
		cp.State = c.State
		s.Servers[c.Name] = &cp
		s.Epoch++
	case MetaPutCalendar:
		return s.putCalendar(c.Calendar, c.Create)
	case MetaDeleteCalendar:
		if _, ok := s.Calendars[c.Name]; !ok {
			return api.NotFound("calendar %s not found", c.Name)
		}
		delete(s.Calendars, c.Name)
	case MetaPauseGroup, MetaResumeGroup:
		s.pauseGroup(c.Name, c.Type == MetaPauseGroup)
	case MetaPutToken:
		if s.Tokens == nil {
			s.Tokens = map[string]*Token{}
		}
		if _, ok := s.Tokens[c.Token.ID]; ok {
			return conflict("token %s exists", c.Token.ID)
		}
		t := *c.Token
		t.CreatedMS = c.NowMS
		s.Tokens[t.ID] = &t
	case MetaRevokeToken:
		if _, ok := s.Tokens[c.Name]; !ok {
			return api.NotFound("token %s not found", c.Name)
		}
		delete(s.Tokens, c.Name)
	default:
		panic(fmt.Sprintf("swarm: meta: unknown command %q (upgrade this server to follow the log)", c.Type))
	}
	return nil
}

func (s *MetaState) upsertServer(in *ServerInfo, now int64) {
	if s.Servers == nil {
		s.Servers = map[string]*ServerInfo{}
	}
	cp := *in
	if old, ok := s.Servers[in.ID]; ok && cp.JoinedMS == 0 {
		cp.JoinedMS = old.JoinedMS
	}
	if cp.JoinedMS == 0 {
		cp.JoinedMS = now
	}
	s.Servers[in.ID] = &cp
}

func (s *MetaState) setReplicas(in ShardInfo) {
	for i := range s.Shards {
		if s.Shards[i].ID == in.ID {
			s.Shards[i].Replicas = append([]string(nil), in.Replicas...)
			s.Shards[i].Leader = in.Leader
			return
		}
	}
	s.Shards = append(s.Shards, in)
	sort.Slice(s.Shards, func(i, j int) bool { return s.Shards[i].ID < s.Shards[j].ID })
}

func (s *MetaState) putCalendar(spec *scheduler.CalendarSpec, create bool) *api.Error {
	if s.Calendars == nil {
		s.Calendars = map[string]scheduler.CalendarSpec{}
	}
	if _, ok := s.Calendars[spec.Name]; ok && create {
		return &api.Error{Code: api.CodeAlreadyExists, Message: "calendar " + spec.Name + " already exists", Status: http.StatusConflict}
	}
	s.Calendars[spec.Name] = *spec
	return nil
}

func (s *MetaState) pauseGroup(group string, paused bool) {
	if s.PausedGroups == nil {
		s.PausedGroups = map[string]bool{}
	}
	if paused {
		s.PausedGroups[group] = true
	} else {
		delete(s.PausedGroups, group)
	}
}

// Snapshot captures the state (it is immutable, so no copy is needed).
func (m *Meta) Snapshot() (raft.FSMSnapshot, error) {
	return &metaSnapshot{state: m.State()}, nil
}

type metaSnapshot struct{ state *MetaState }

func (ms *metaSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := json.Marshal(struct {
		Format int        `json:"format"`
		State  *MetaState `json:"state"`
	}{metaFormat, ms.state})
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("persist meta snapshot: %w", err)
	}
	if _, err := sink.Write(b); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist meta snapshot: %w", err)
	}
	return sink.Close()
}

func (ms *metaSnapshot) Release() {}

// Restore replaces the state with a snapshot's.
func (m *Meta) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var snap struct {
		Format int        `json:"format"`
		State  *MetaState `json:"state"`
	}
	if err := json.NewDecoder(rc).Decode(&snap); err != nil {
		return fmt.Errorf("restore meta: %w: %w", ErrCorrupt, err)
	}
	if snap.Format > metaFormat {
		return fmt.Errorf("restore meta: format %d: %w", snap.Format, ErrNewerFormat)
	}
	if snap.State == nil {
		return fmt.Errorf("restore meta: %w: no state", ErrCorrupt)
	}
	snap.State.derive()
	m.state.Store(snap.State)
	m.notify()
	return nil
}
