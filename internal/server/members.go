package server

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// members runs hashicorp/memberlist for server liveness and failure
// detection only; it carries no other data (its metadata stays empty).
type members struct {
	ml *memberlist.Memberlist

	mu   sync.Mutex
	seen map[string]bool // node name -> alive
}

// startMembers binds gossip on addr. Keyring, when set, encrypts gossip
// and refuses peers without the key.
func startMembers(nodeID, addr string, key []byte, log *slog.Logger) (*members, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("gossip: %q is not host:port: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("gossip: bad port %q", port)
	}
	m := &members{seen: map[string]bool{}}
	cfg := memberlist.DefaultLANConfig()
	cfg.Name = nodeID
	cfg.BindAddr, cfg.BindPort = host, p
	if p != 0 {
		cfg.AdvertiseAddr, cfg.AdvertisePort = host, p
	}
	cfg.Events = m
	cfg.Logger = slog.NewLogLogger(log.With("component", "gossip").Handler(), slog.LevelDebug)
	if len(key) > 0 {
		cfg.SecretKey = key
		cfg.GossipVerifyIncoming, cfg.GossipVerifyOutgoing = true, true
	}
	if m.ml, err = memberlist.Create(cfg); err != nil {
		return nil, fmt.Errorf("gossip: listen %s: %w", addr, err)
	}
	return m, nil
}

// Addr is the bound gossip address.
func (m *members) Addr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// join contacts known members; errors only mean none answered yet.
func (m *members) join(addrs []string) {
	if len(addrs) > 0 {
		m.ml.Join(addrs)
	}
}

func (m *members) alive(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[id]
}

func (m *members) NotifyJoin(n *memberlist.Node)   { m.set(n.Name, true) }
func (m *members) NotifyLeave(n *memberlist.Node)  { m.set(n.Name, false) }
func (m *members) NotifyUpdate(n *memberlist.Node) {}

func (m *members) set(id string, alive bool) {
	m.mu.Lock()
	m.seen[id] = alive
	m.mu.Unlock()
}

func (m *members) stop() {
	m.ml.Leave(time.Second)
	m.ml.Shutdown()
}
