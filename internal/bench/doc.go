// Package bench measures a local swarm cluster at scale: it starts real
// `swarm server` processes on loopback ports, connects thousands of
// simulated workers that speak the WebSocket protocol from this process,
// loads jobs through the batch API, and records every fire a worker
// receives: lateness, lost and duplicate fires, fires per second, and the
// servers' CPU, memory and disk. It can kill the server that leads the most
// shards, or restart servers, in the middle of a run. `swarm bench` is its
// command line.
//
// It owns its temporary data directories and the processes it starts, and
// nothing else: it never changes a cluster it did not start, never sends
// traffic beyond loopback, and never runs what a fire asks for (a simulated
// worker acknowledges and reports success at once).
package bench
