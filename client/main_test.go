package client

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
	"github.com/swarmsched/swarm/protocol"
)

func TestMain(m *testing.M) {
	// Runs with a DataDir re-execute this test binary as the exec shim.
	RunShimIfRequested()
	goleak.VerifyTestMain(m)
}

// newServer starts a fake server closed at the end of the test.
func newServer(t *testing.T, cfg clienttest.Config) *clienttest.Server {
	t.Helper()
	s := clienttest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// testConfig is a client config for srv; dataDir "" runs processes
// directly, a directory runs them under the shim.
func testConfig(t *testing.T, srv *clienttest.Server, dataDir string) Config {
	t.Helper()
	return Config{
		Servers:      []string{srv.Addr()},
		ID:           "w1",
		DataDir:      dataDir,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		KillGrace:    2 * time.Second,
		DrainTimeout: 5 * time.Second,
	}
}

// startClient starts a client stopped at the end of the test. setup runs
// between New and Start.
func startClient(t *testing.T, cfg Config, setup ...func(*Client)) *Client {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	for _, f := range setup {
		f(c)
	}
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(c.Stop)
	return c
}

// forEachMode runs f without a DataDir (direct processes) and with one
// (processes under the shim).
func forEachMode(t *testing.T, f func(t *testing.T, dataDir string)) {
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		f(t, "")
	})
	t.Run("shim", func(t *testing.T) {
		t.Parallel()
		f(t, t.TempDir())
	})
}

var testScheduled = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// shellFire runs script with /bin/sh -c.
func shellFire(id, script string) protocol.Fire {
	f := baseFire(id)
	f.Executor = api.Executor{Kind: api.ExecutorProcess, Command: script, Shell: true}
	return f
}

// commandFire runs command with args, no shell.
func commandFire(id, command string, args ...string) protocol.Fire {
	f := baseFire(id)
	f.Executor = api.Executor{Kind: api.ExecutorProcess, Command: command, Args: args}
	return f
}

func handlerFire(id, name string) protocol.Fire {
	f := baseFire(id)
	f.Executor = api.Executor{Kind: api.ExecutorHandler, Name: name}
	return f
}

func baseFire(id string) protocol.Fire {
	return protocol.Fire{
		ExecID:      id,
		Attempt:     1,
		Shard:       3,
		Term:        7,
		Job:         "billing/nightly",
		JobID:       "job-1",
		ScheduledAt: testScheduled,
		FiredAt:     testScheduled.Add(250 * time.Millisecond),
	}
}

// fire sends f, requires it accepted, and returns the ack.
func fire(t *testing.T, srv *clienttest.Server, f protocol.Fire) *protocol.Ack {
	t.Helper()
	require.NoError(t, srv.Fire(f))
	ack, err := srv.WaitAck(f.ExecID, f.Attempt)
	require.NoError(t, err)
	require.True(t, ack.Accepted, "fire %s refused: %s", f.ExecID, ack.Reason)
	return ack
}

// refused sends f and requires it refused for reason.
func refused(t *testing.T, srv *clienttest.Server, f protocol.Fire, reason string) {
	t.Helper()
	require.NoError(t, srv.Fire(f))
	ack, err := srv.WaitAck(f.ExecID, f.Attempt)
	require.NoError(t, err)
	require.False(t, ack.Accepted)
	require.Equal(t, reason, ack.Reason)
}

func result(t *testing.T, srv *clienttest.Server, execID string) *protocol.Result {
	t.Helper()
	res, err := srv.WaitResult(execID, 1)
	require.NoError(t, err)
	return res
}

func hello(t *testing.T, srv *clienttest.Server) *protocol.Hello {
	t.Helper()
	h, err := srv.WaitHello()
	require.NoError(t, err)
	return h
}

func exitCode(t *testing.T, res *protocol.Result) int {
	t.Helper()
	require.NotNil(t, res.ExitCode, "result without exit code: %+v", res)
	return *res.ExitCode
}

// logLines returns the streamed lines of execID, in order.
func logLines(srv *clienttest.Server, execID string) []string {
	var lines []string
	for _, r := range srv.Messages() {
		if l := r.Msg.Log; r.Msg.Type == protocol.TypeLog && l != nil && l.ExecID == execID {
			for _, ln := range l.Lines {
				lines = append(lines, ln.Text)
			}
		}
	}
	return lines
}

// gate is a channel a test closes to let a handler go on.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate(t *testing.T) *gate {
	g := &gate{ch: make(chan struct{})}
	t.Cleanup(g.open) // never leave a handler blocked
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// blockingHandler returns a handler that waits for g (or its context) and
// counts its calls on calls.
func blockingHandler(g *gate, calls chan<- string) Handler {
	return func(ctx context.Context, f *Fire) error {
		if calls != nil {
			calls <- f.ExecID
		}
		select {
		case <-g.ch:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// processGone reports whether pid ended (a zombie has ended).
func processGone(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	st, err := parseProcStat(b)
	return err != nil || st.state == 'Z' || st.state == 'X'
}
