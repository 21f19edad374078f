package shard

import (
	"time"

	"github.com/hashicorp/raft"
)

// Timers are the Raft timing knobs of a kind of group.
type Timers struct {
	Heartbeat     time.Duration
	Election      time.Duration
	LeaderLease   time.Duration
	Commit        time.Duration
	SnapshotEvery time.Duration
}

// DefaultShardTimers suit many shard groups per process: CommitTimeout is
// what drives idle CPU per group (multiraft.md §1.2), and it only delays
// followers learning the commit index, which does not matter because only
// the shard leader fires. Heartbeat and election at 2 s put failover at
// about 4-6 s.
var DefaultShardTimers = Timers{
	Heartbeat:     2 * time.Second,
	Election:      2 * time.Second,
	LeaderLease:   1 * time.Second,
	Commit:        500 * time.Millisecond,
	SnapshotEvery: 3 * time.Minute,
}

// DefaultMetaTimers: the meta group is small and low-rate; a meta
// election pauses placement and reports, nothing more, so it can be as
// patient as the shards.
var DefaultMetaTimers = Timers{
	Heartbeat:     2 * time.Second,
	Election:      2 * time.Second,
	LeaderLease:   1 * time.Second,
	Commit:        200 * time.Millisecond,
	SnapshotEvery: 2 * time.Minute,
}

// FastTimers make tests elect leaders in about a second, while leaving
// enough lease that a busy test machine does not depose leaders at random.
var FastTimers = Timers{
	Heartbeat:     500 * time.Millisecond,
	Election:      500 * time.Millisecond,
	LeaderLease:   400 * time.Millisecond,
	Commit:        50 * time.Millisecond,
	SnapshotEvery: time.Minute,
}

func raftConfig(nodeID string, t Timers, shardGroup bool) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(nodeID)
	c.HeartbeatTimeout = t.Heartbeat
	c.ElectionTimeout = t.Election
	c.LeaderLeaseTimeout = t.LeaderLease
	c.CommitTimeout = t.Commit
	c.SnapshotInterval = t.SnapshotEvery
	if shardGroup {
		// Entries carry batches of records, so fewer entries hold more;
		// keep enough log that a follower back within minutes catches up
		// without a full snapshot.
		c.MaxAppendEntries = 256
		// Proposals queue without waiting for the leader loop, which is
		// busy writing the previous ones: the fire loop keeps several
		// batches under way and Raft writes them together.
		c.BatchApplyCh = true
		c.SnapshotThreshold = 16384
		c.TrailingLogs = 32768
		// The FSM keeps its applied index in its own store; do not rewrite
		// the store from a snapshot at every start (DESIGN "Storage").
		c.NoSnapshotRestoreOnStart = true
	}
	return c
}
