package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/swarmsched/swarm/shard"
)

// Defaults of a server.
const (
	DefaultHTTPAddr = "127.0.0.1:7700"
	DefaultRaftAddr = "127.0.0.1:7701"

	DefaultShards   = 8
	DefaultReplicas = 3
	MaxShards       = 4096
)

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// NodeID names this server. Defaults to the id recorded in DataDir, or
	// a new one made of the host name and a random suffix.
	NodeID string

	// DataDir holds the server's stores. Required.
	DataDir string

	// HTTPAddr is the address the API listens on; HTTPAdvertise is the one
	// other servers and clients use (defaults to HTTPAddr). On restart an
	// empty address means the one recorded in DataDir; on a first start,
	// DefaultHTTPAddr and DefaultRaftAddr.
	HTTPAddr      string
	HTTPAdvertise string

	// RaftAddr is the address the Raft mux listens on; RaftAdvertise the
	// one peers dial (defaults to RaftAddr).
	RaftAddr      string
	RaftAdvertise string

	// Shards is the number of shard groups a new cluster gets. Defaults to
	// DefaultShards. Ignored on restart and when joining.
	Shards int

	// Replicas is the replication factor of shards. Defaults to
	// DefaultReplicas.
	Replicas int

	// Join lists HTTP addresses of cluster members to join.
	Join []string

	// GossipAddr is the memberlist address (failure detection). Empty on a
	// first start means no gossip; on restart, the recorded one.
	GossipAddr string

	// ClusterKey, when set, authenticates every Raft and forwarding
	// connection and encrypts gossip. Every server needs the same one.
	ClusterKey []byte

	// TLSCert and TLSKey make the HTTP API, workers' WebSockets and Raft
	// connections use TLS; TLSCA (PEM) verifies peers (Raft is mutual TLS).
	TLSCert, TLSKey, TLSCA string

	// Auth requires an API token of every request and worker. A new
	// cluster's first admin token is written to DataDir/admin.token.
	Auth bool

	// DeadServerTimeout: a server unseen this long has its replicas
	// re-created elsewhere. Defaults to DefaultDeadServerTimeout.
	DeadServerTimeout time.Duration

	// MetaVoters is how many servers vote in the meta group. Defaults to
	// DefaultMetaVoters.
	MetaVoters int

	// MisfireThreshold: a fire later than this is a misfire. Defaults to
	// shard.DefaultMisfireThreshold.
	MisfireThreshold time.Duration

	// ClientGrace: a client gone longer loses its runs. Defaults to
	// shard.DefaultClientGrace.
	ClientGrace time.Duration

	// ShardTimers and MetaTimers tune Raft; tests use shard.FastTimers.
	ShardTimers shard.Timers
	MetaTimers  shard.Timers

	// Heartbeat is the client heartbeat interval. Defaults to
	// transport.DefaultHeartbeat.
	Heartbeat time.Duration

	// Version is reported by /v1/version.
	Version string

	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Validate names the first invalid field.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("data-dir: is required")
	}
	if c.Shards < 0 || c.Shards > MaxShards {
		return fmt.Errorf("shards: must be between 1 and %d", MaxShards)
	}
	if c.Replicas < 0 || c.Replicas > 7 {
		return errors.New("replicas: must be between 1 and 7")
	}
	for _, a := range []struct{ name, addr string }{
		{"http", c.HTTPAddr}, {"raft", c.RaftAddr}, {"http-advertise", c.HTTPAdvertise}, {"raft-advertise", c.RaftAdvertise},
	} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("%s: %q is not host:port: %w", a.name, a.addr, err)
		}
	}
	if c.MisfireThreshold < 0 {
		return errors.New("misfire-threshold: must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Shards == 0 {
		c.Shards = DefaultShards
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.MisfireThreshold == 0 {
		c.MisfireThreshold = shard.DefaultMisfireThreshold
	}
	if c.ClientGrace == 0 {
		c.ClientGrace = shard.DefaultClientGrace
	}
	if c.DeadServerTimeout == 0 {
		c.DeadServerTimeout = DefaultDeadServerTimeout
	}
	if c.MetaVoters == 0 {
		c.MetaVoters = DefaultMetaVoters
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// advertise returns the address to advertise for a listener: the
// configured one, else the bound address (with a real port when the
// configuration asked for port 0).
func advertise(configured string, bound net.Addr) string {
	if configured != "" {
		return configured
	}
	host, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return bound.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
