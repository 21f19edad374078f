package shard

import (
	"context"
	"errors"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// Target is where one piece of a fire goes: a client, and the server that
// holds its socket.
type Target struct {
	Client string
	Server string
}

// ErrNotDelivered marks a Deliver error that is certain the fire did not
// reach the worker (it is not connected, its queue is full). Any other
// error leaves it in doubt.
var ErrNotDelivered = errors.New("fire not delivered")

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

	// Deliver hands a fire to the server holding its target's socket and
	// calls done with the outcome, at once or later from another
	// goroutine. An error wrapping ErrNotDelivered means it certainly was
	// not handed over; any other error leaves it in doubt; nil does not
	// mean it ran.
	Deliver(ctx context.Context, t Target, f *protocol.Fire, done func(error))

	// Connected reports whether a client is connected to any server.
	Connected(client string) bool

	// Kill asks the client running an execution to stop it, saying why
	// (a protocol.Kill reason). It returns
	// at once; the run's end arrives as the client's report (killed).
	// Best effort: a client that cannot be reached is not told, and its
	// run ends on its own or is lost with its client.
	Kill(client, execID, reason string)
}
