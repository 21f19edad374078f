package shard

import (
	"context"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// Target is where one piece of a fire goes: a client, and the server that
// holds its socket.
type Target struct {
	Client string
	Server string
}

// Dispatcher is what a shard leader needs from the cluster's view of
// workers. The server plugs in an implementation over its client
// directory and the servers that hold the sockets.
type Dispatcher interface {
	// Pick chooses targets for one fire of job, as PickTargets does: one
	// per piece (an empty Target for a piece no client has room for), one
	// per client for broadcast. It returns nil when no client can take the
	// fire now. exclude names clients not to choose (they refused it); seq
	// numbers the job's fires, so round_robin rotates.
	Pick(job *api.Job, pieces int, exclude map[string]bool, seq uint64) []Target

	// Deliver hands a fire to the server holding its target's socket. An
	// error means it was not handed over (the target is gone or the server
	// unreachable); nil does not mean it ran.
	Deliver(ctx context.Context, t Target, f *protocol.Fire) error

	// Connected reports whether a client is connected to any server.
	Connected(client string) bool
}
