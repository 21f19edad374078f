package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestViewKeepsAShardsLoadAcrossALeaderChange: a leader that just took a
// shard over reports the little it has fired since; placement goes on
// seeing the rate the previous leader measured, so it does not pile more
// leaderships onto the new one, until the new one's window is full.
func TestViewKeepsAShardsLoadAcrossALeaderChange(t *testing.T) {
	v := newView()
	now := time.Unix(1_000_000, 0)
	v.accept(&report{Server: "a", Shards: []shardRept{{ID: 3, Leader: true, Term: 2, Fires: 400}}}, "a", now)
	require.InDelta(t, 400, v.shardViews()[3].FiresPerSecond, 1e-9)

	v.accept(&report{Server: "a", Shards: []shardRept{{ID: 3, Term: 3}}}, "a", now)
	v.accept(&report{Server: "b", Shards: []shardRept{{ID: 3, Leader: true, Term: 3, Fires: 20, Warming: true}}}, "a", now)
	got := v.shardViews()[3]
	require.Equal(t, "b", got.Leader)
	require.InDelta(t, 400, got.FiresPerSecond, 1e-9, "warming: the settled rate stands")
	require.True(t, got.Warming, "placement waits for the new leader's rate")

	v.accept(&report{Server: "b", Shards: []shardRept{{ID: 3, Leader: true, Term: 3, Fires: 150}}}, "a", now)
	require.InDelta(t, 150, v.shardViews()[3].FiresPerSecond, 1e-9, "settled: its own rate")
	require.False(t, v.shardViews()[3].Warming)

	// A shard that does not fire has no load to wait for: leaderships of
	// a new cluster spread at once.
	v.accept(&report{Server: "b", Shards: []shardRept{{ID: 5, Leader: true, Term: 1, Warming: true}}}, "a", now)
	require.False(t, v.shardViews()[5].Warming)
}
