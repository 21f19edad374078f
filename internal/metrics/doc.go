// Package metrics holds a server's Prometheus collectors and serves them
// at /metrics. Metrics is built on its own registry, never the process's
// default one, so several servers can run in one process (tests do).
//
// Its methods have the shapes of the hooks that packages shard and
// transport define (shard.Metrics, transport.HubMetrics, APIMetrics,
// NotifyMetrics), so those packages never import it. State that is cheap
// to read at scrape time (leaders, jobs, store sizes, release queues)
// comes from a Sampler the server sets.
//
// It only counts: it never decides anything or changes any state.
package metrics
