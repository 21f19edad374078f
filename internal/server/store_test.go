package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/internal/server"
	"github.com/swarmsched/swarm/shard"
)

// TestCorruptStoreIsRefusedAtStart: a damaged shard store or a truncated
// Raft log is detected when the server starts, with a message naming the
// file; it is never silently used (nor rewritten).
func TestCorruptStoreIsRefusedAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		mess func(path string)
	}{
		{"garbage shard store", "shards/0/fsm.db", func(p string) { os.WriteFile(p, make([]byte, 64<<10), 0o600) }},
		{"truncated shard store", "shards/1/fsm.db", func(p string) { os.Truncate(p, 100) }},
		{"truncated raft log", "shards/0/raft.db", func(p string) { os.Truncate(p, 100) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, dir)
			s.Stop()

			path := filepath.Join(dir, tc.file)
			tc.mess(path)
			before, err := os.ReadFile(path)
			require.NoError(t, err)

			again, err := server.New(server.Config{DataDir: dir, ShardTimers: shard.FastTimers, MetaTimers: shard.FastTimers})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = again.Start(ctx)
			again.Stop()
			require.Error(t, err)
			require.Contains(t, err.Error(), path, "the error names the damaged file")

			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, before, after, "the damaged file is left as it was, for the operator")
		})
	}
}

// TestNewerStoreFormatIsRefused: a data dir written by a newer swarm is not
// read by an older one.
func TestNewerStoreFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	s.Stop()
	id := filepath.Join(dir, "node.json")
	b, err := os.ReadFile(id)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(id, []byte(replaceFormat(string(b))), 0o600))

	again, err := server.New(server.Config{DataDir: dir})
	require.NoError(t, err)
	err = again.Start(context.Background())
	again.Stop()
	require.ErrorContains(t, err, "newer")
}

func replaceFormat(s string) string {
	return regexpFormat.ReplaceAllString(s, `"format": 99`)
}
