// Package client is swarm's worker runtime and its public Go SDK.
//
// A Client dials any of its servers at /v1/connect, registers (id, group,
// capacity, labels, handler names, and what it still runs), heartbeats,
// receives fires, runs them, streams their output as log lines and reports
// each result until the server confirms it. The wire protocol is described
// in docs/protocol.md and typed in package protocol.
//
// Two executors run a fire:
//
//   - the process executor starts a command in its own process group, with
//     the SWARM_* environment, and ends the whole group on timeout or kill;
//   - the handler executor calls a Go function registered with
//     [Client.Handle] in this process (swarm's "reflection" executor).
//
// With a DataDir, a Client keeps a journal (a bbolt file) of its running
// processes and of results the server has not confirmed yet, and starts
// each process under a small exec shim (this same program, re-executed),
// so a process outlives a client crash or restart: the next Client on the
// same DataDir takes it back, or reports how it ended while nobody watched.
// A program that uses a DataDir must therefore call [RunShimIfRequested]
// first thing in main. Without a DataDir, processes are children of the
// client and die with it.
//
// The package owns the worker side of the protocol only. It never knows
// about Raft, shards or routing, and it never decides what runs where: it
// runs what a server sends, within its capacity and its AllowExec patterns.
package client
