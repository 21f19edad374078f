// Package transport moves bytes between swarm processes: one TCP listener
// multiplexed among all Raft groups of a server (Mux), the HTTP API, the
// WebSocket hub that holds workers' connections, forwarding between
// servers, the performers that hand http and kafka fires over, and the
// Notifier that calls jobs' alert webhooks.
//
// It decides nothing about scheduling: which fire goes where, and when, is
// decided by the shard leader; transport only carries it and reports what
// comes back.
package transport
