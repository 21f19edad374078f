package shard

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/transport"
)

// startSoloRunner runs a real one-member shard group (Raft over the mux on
// loopback, bbolt stores in a temp dir) and its Runner.
func startSoloRunner(t *testing.T) *Runner {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := transport.NewMux(ln, nil)
	t.Cleanup(func() { mux.Close() })

	dir := t.TempDir()
	h, err := NewHost(HostConfig{NodeID: "s1", DataDir: dir, Advertise: ln.Addr().String(), Mux: mux, ShardTimers: FastTimers, MetaTimers: FastTimers})
	require.NoError(t, err)
	store, err := fsm.OpenShard(0, filepath.Join(dir, "fsm.db"))
	require.NoError(t, err)
	g, err := h.OpenShard(store, []raft.Server{{ID: "s1", Address: raft.ServerAddress(ln.Addr().String())}})
	require.NoError(t, err)

	r := NewRunner(store, g, FirerConfig{NodeID: "s1", Dispatcher: &stuckPeer{}})
	r.Start(t.Context())
	return r
}

// waitLeading waits on the member's state observations until it leads.
func waitLeading(t *testing.T, g *Group) {
	t.Helper()
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.RaftState)
		return ok
	})
	g.Raft.RegisterObserver(obs)
	defer g.Raft.DeregisterObserver(obs)
	deadline := time.After(20 * time.Second)
	for !g.IsLeader() {
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("the one-member group elected no leader in 20 s")
		}
	}
}

// WaitReady returns once a leading member has caught up, and returns
// false at once for a member that does not lead, without waiting for its
// context.
func TestRunnerWaitReady(t *testing.T) {
	r := startSoloRunner(t)
	waitLeading(t, r.Group)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	require.True(t, r.WaitReady(ctx), "a one-member group's runner never became ready")
	require.True(t, r.Ready())

	require.NoError(t, r.Close())
	ctx, cancel = context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	done := make(chan bool, 1)
	go func() { done <- r.WaitReady(ctx) }()
	select {
	case ready := <-done:
		require.False(t, ready, "a closed member reported ready")
	case <-time.After(10 * time.Second):
		t.Fatal("WaitReady on a member that does not lead waited for its context")
	}
}
