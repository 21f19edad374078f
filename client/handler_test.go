package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
)

func TestHandlerSucceeds(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	seen := make(chan Fire, 1)
	startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("report.daily", func(ctx context.Context, f *Fire) error {
			seen <- *f
			f.Logf("hello %s", f.Data["who"])
			fmt.Fprint(f.Output(), "first\nsecond without newline")
			return nil
		})
	})
	hello(t, srv)

	hf := handlerFire("e-ok", "report.daily")
	hf.Data = map[string]string{"who": "world"}
	hf.TimeoutMS = 60_000
	ack := fire(t, srv, hf)
	res := result(t, srv, "e-ok")

	require.Equal(t, api.ExecSucceeded, res.State)
	require.Empty(t, res.Error)
	require.Nil(t, res.ExitCode)
	require.Equal(t, "hello world\nfirst\nsecond without newline\n", res.Output)
	require.Equal(t, []string{"hello world", "first", "second without newline"}, logLines(srv, "e-ok"))
	require.Positive(t, ack.PID)

	f := <-seen
	require.Equal(t, "e-ok", f.ExecID)
	require.Equal(t, 1, f.Attempt)
	require.Equal(t, "billing", f.Group())
	require.Equal(t, "nightly", f.Name())
	require.Equal(t, "job-1", f.JobID)
	require.Equal(t, testScheduled, f.ScheduledAt)
	require.Equal(t, api.Piece{Index: 0, Count: 1}, f.Piece)
	require.Equal(t, time.Minute, f.Timeout)
}

func TestHandlerError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("fails", func(ctx context.Context, f *Fire) error {
			return errors.New("database unreachable")
		})
	})
	hello(t, srv)

	fire(t, srv, handlerFire("e-err", "fails"))
	res := result(t, srv, "e-err")

	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, "database unreachable", res.Error)
}

func TestHandlerPanicIsFailure(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.OutputTailBytes = 64 << 10
	startClient(t, cfg, func(c *Client) {
		c.Handle("panics", func(ctx context.Context, f *Fire) error {
			var m map[string]int
			m["boom"]++ // a real runtime panic
			return nil
		})
	})
	hello(t, srv)

	fire(t, srv, handlerFire("e-panic", "panics"))
	res := result(t, srv, "e-panic")

	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, "panic: assignment to entry in nil map", res.Error)
	require.Contains(t, res.Output, "goroutine ", "the stack is in the output")

	// The client survived: it still runs fires.
	fire(t, srv, shellFire("e-after", "true"))
	require.Equal(t, api.ExecSucceeded, result(t, srv, "e-after").State)
}

func TestHandlerTimeoutCancelsContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	causes := make(chan error, 1)
	startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("slow", func(ctx context.Context, f *Fire) error {
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return ctx.Err()
		})
	})
	hello(t, srv)

	hf := handlerFire("e-slow", "slow")
	hf.TimeoutMS = 100
	fire(t, srv, hf)
	res := result(t, srv, "e-slow")

	require.Equal(t, api.ExecTimedOut, res.State)
	require.Equal(t, "timed out after 100ms", res.Error)
	require.ErrorIs(t, <-causes, ErrTimedOut)
}

func TestHandlerKillCancelsContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	causes := make(chan error, 1)
	started := make(chan struct{})
	startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("waits", func(ctx context.Context, f *Fire) error {
			close(started)
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return nil // the kill decides the state, not the return
		})
	})
	hello(t, srv)

	fire(t, srv, handlerFire("e-killed", "waits"))
	<-started
	require.NoError(t, srv.Kill("e-killed", "killed"))
	res := result(t, srv, "e-killed")

	require.Equal(t, api.ExecKilled, res.State)
	require.Equal(t, "killed", res.Error)
	require.ErrorIs(t, <-causes, ErrKilled)
}

func TestHandlerIgnoringCancelIsReportedAfterGrace(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.KillGrace = 100 * time.Millisecond
	release := newGate(t)
	returned := make(chan struct{})
	startClient(t, cfg, func(c *Client) {
		c.Handle("stubborn", func(ctx context.Context, f *Fire) error {
			defer close(returned)
			<-release.ch // ignores ctx
			return nil
		})
	})
	hello(t, srv)

	fire(t, srv, handlerFire("e-stubborn", "stubborn"))
	require.NoError(t, srv.Kill("e-stubborn", "replaced"))
	res := result(t, srv, "e-stubborn")

	require.Equal(t, api.ExecKilled, res.State)
	require.Equal(t, "killed: replaced", res.Error)
	release.open()
	<-returned
}
