package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// Handler runs a fire of a job whose executor is {"kind": "handler",
// "name": ...} in the client's own process. Returning nil records the run
// as succeeded; an error records it as failed with the error's text; a
// panic is recovered and recorded as failed.
//
// ctx is cancelled when the fire's timeout passes, when the server kills
// the run, or when the client hands the run back while stopping;
// context.Cause(ctx) is then ErrTimedOut, ErrKilled or ErrDrained. A
// handler must return soon after: one that ignores ctx for the client's
// KillGrace is reported as ended, and its goroutine is left running.
type Handler func(ctx context.Context, f *Fire) error

// Fire is one run of a job handed to a Handler. Its methods are safe for
// concurrent use.
type Fire struct {
	// ExecID and Attempt identify the run; a retry is a new attempt of
	// the same execution.
	ExecID  string
	Attempt int

	// Job is "group/name"; JobID is the server's opaque id of the job.
	Job   string
	JobID string

	// ScheduledAt is the slot the trigger computed; FiredAt is when the
	// server released the fire.
	ScheduledAt time.Time
	FiredAt     time.Time

	// Data is the job's data map. Do not modify it.
	Data map[string]string

	// Piece is this run's piece of a split fire; a fire that is not split
	// is piece 0 of 1.
	Piece api.Piece

	// Timeout is the fire's timeout, zero for none. ctx carries it too.
	Timeout time.Duration

	out *output
	w   *lineWriter
}

func newFire(pf *protocol.Fire, out *output) *Fire {
	f := &Fire{
		ExecID:      pf.ExecID,
		Attempt:     pf.Attempt,
		Job:         pf.Job,
		JobID:       pf.JobID,
		ScheduledAt: pf.ScheduledAt,
		FiredAt:     pf.FiredAt,
		Data:        pf.Data,
		Piece:       pieceOf(pf),
		Timeout:     time.Duration(pf.TimeoutMS) * time.Millisecond,
		out:         out,
	}
	f.w = &lineWriter{fn: liveLines(out, streamStdout)}
	return f
}

// Group returns the job's group.
func (f *Fire) Group() string {
	g, _ := splitJob(f.Job)
	return g
}

// Name returns the job's name.
func (f *Fire) Name() string {
	_, n := splitJob(f.Job)
	return n
}

// Logf writes one line of output: it is streamed to the server as a log
// line and kept in the result's output tail. A trailing newline is not
// needed.
func (f *Fire) Logf(format string, args ...any) {
	text := strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")
	for _, line := range strings.Split(text, "\n") {
		f.out.add(streamStdout, line, time.Now(), true)
	}
}

// Output returns a writer whose lines become output, as with Logf. A last
// line without a newline is taken when the handler returns.
func (f *Fire) Output() io.Writer { return f.w }

// startHandler runs h in its own goroutine. The goroutine ends when h
// returns; it is not waited for if h ignores its context (see Handler).
func startHandler(h Handler, f *Fire, timeout time.Duration) *handlerProc {
	ctx, cancel := context.WithCancelCause(context.Background())
	if timeout > 0 {
		// The supervisor kills the run at the deadline too; this deadline
		// lets the handler see it in ctx.
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w after %s", ErrTimedOut, timeout))
		inner := cancel
		cancel = func(cause error) { inner(cause); stop() }
	}
	hp := &handlerProc{cancel: cancel, doneCh: make(chan struct{})}

	go func() {
		err := callHandler(ctx, h, f)
		f.w.flush()
		if pe, ok := err.(*panicError); ok {
			// The stack goes to the output, where the job's owner looks.
			f.Logf("%s\n%s", pe.Error(), pe.stack)
		}
		oc := handlerOutcome(err)
		if cause := context.Cause(ctx); errors.Is(cause, ErrTimedOut) {
			// The handler saw its deadline before the supervisor's timer.
			oc.cause = cause
		}
		cancel(nil) // release the context's resources
		hp.finish(oc)
	}()
	return hp
}

// callHandler calls h and turns a panic into a *panicError.
func callHandler(ctx context.Context, h Handler, f *Fire) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(ctx, f)
}

func handlerOutcome(err error) outcome {
	if err == nil {
		return outcome{}
	}
	return outcome{err: err.Error()}
}
