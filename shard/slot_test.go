package shard_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/shard"
)

func TestSlotIsStableAndSpread(t *testing.T) {
	// These values are part of the storage contract: changing the hash
	// would move every job to another shard.
	require.Equal(t, 3414, shard.Slot("billing/nightly-invoices"))
	require.Equal(t, 10121, shard.Slot("demo/hello"))

	counts := make([]int, 8)
	ranges := fsm.EvenSlots(8)
	for i := range 80000 {
		slot := shard.Slot(fmt.Sprintf("group-%d/job-%d", i%97, i))
		require.True(t, slot >= 0 && slot < fsm.NumSlots)
		for _, r := range ranges {
			if slot >= r.From && slot <= r.To {
				counts[r.Shard]++
			}
		}
	}
	for s, n := range counts {
		require.InDelta(t, 10000, n, 600, "shard %d holds %d of 80000 keys", s, n)
	}
}
