package client

import "errors"

// Causes of a cancelled run. A handler's context is cancelled with one of
// them; read it with context.Cause.
var (
	// ErrKilled is the cause when a server asked to stop the run. The
	// cause wraps it with the server's reason ("killed: replaced").
	ErrKilled = errors.New("killed")

	// ErrTimedOut is the cause when the run exceeded the fire's timeout.
	ErrTimedOut = errors.New("timed out")

	// ErrDrained is the cause when the client stopped before the run
	// ended and handed it back to the server as lost.
	ErrDrained = errors.New("client drained")
)

// ErrDataDirInUse is returned by Start when another client holds the
// journal in the same DataDir.
var ErrDataDirInUse = errors.New("data dir is used by another client")
