package transport

import (
	"context"

	"github.com/swarmsched/swarm/protocol"
)

// Performer delivers a fire itself instead of through a worker's socket:
// the http perform kind posts it to a URL, the kafka kind produces it to a
// topic. The shard leader's server calls Perform once the fire is
// committed.
type Performer interface {
	// Perform hands f over. It returns once the fire is handed over (an
	// error means it was not, and the leader tries again later); report
	// receives what became of it: an ack when it started, a result when it
	// ended. report may be called from another goroutine, after Perform
	// returned, until Close.
	Perform(ctx context.Context, f *protocol.Fire, report PerformReport) error

	// Close stops what the performer started and waits for it.
	Close() error
}

// PerformReport receives a performed fire's ack and result.
type PerformReport interface {
	Ack(a *protocol.Ack)
	// Result must be called at most once per fire; done is called once it
	// is durable.
	Result(r *protocol.Result, done func(error))
}
