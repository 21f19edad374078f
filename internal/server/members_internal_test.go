package server

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGossipRefusesPeersWithoutTheKey: with a cluster key, gossip is
// encrypted and a member without the key can neither join nor be seen.
func TestGossipRefusesPeersWithoutTheKey(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	key := derivedKey([]byte("a cluster secret of some length"))
	a, err := startMembers("a", "127.0.0.1:0", key, log)
	require.NoError(t, err)
	defer a.stop()
	b, err := startMembers("b", "127.0.0.1:0", key, log)
	require.NoError(t, err)
	defer b.stop()
	stranger, err := startMembers("x", "127.0.0.1:0", nil, log)
	require.NoError(t, err)
	defer stranger.stop()

	n, err := b.ml.Join([]string{a.Addr()})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool { return a.alive("b") }, 5*time.Second, 20*time.Millisecond)

	_, err = stranger.ml.Join([]string{a.Addr()})
	require.Error(t, err, "a member without the key joined")
	require.False(t, a.alive("x"))
	require.Equal(t, 1, stranger.ml.NumMembers())
}
