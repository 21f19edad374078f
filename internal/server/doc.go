// Package server assembles a swarm server from the other packages: the
// Raft mux and host, the meta and shard groups, the fire loops, the worker
// hub and the HTTP API. It is the only package that imports all of them,
// and the place where a request is routed to the shard that owns it.
package server
