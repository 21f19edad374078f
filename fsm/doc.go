// Package fsm holds swarm's Raft state machines: the shard FSM (jobs, their
// trigger state, the due index, executions) over one bbolt file per
// replica, and the meta FSM (servers, shards, the slot map, calendars). It
// owns the command encoding and the snapshot format.
//
// Apply is deterministic: it never reads the clock, draws random numbers,
// iterates a map in random order or computes with the local zone database.
// Everything time-dependent arrives in the command, computed by the leader
// that proposed it. Only this package changes replicated state.
package fsm
