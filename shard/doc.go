// Package shard hosts a server's Raft groups and runs what a shard leader
// does: it opens the meta group and the shard groups over the shared Raft
// mux (Host, Group), maps job keys to slots and slots to shards (Slot), and
// runs the fire loop of each shard this server leads (Firer): scan the due
// index, commit fires ahead, release them on time, commit what comes back.
//
// It never handles HTTP and never writes replicated state except by
// proposing commands that package fsm applies. Trigger math comes from
// package scheduler; the choice of a worker and the delivery of a fire come
// from the Dispatcher the server plugs in.
package shard
