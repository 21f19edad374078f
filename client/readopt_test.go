package client

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
	"github.com/swarmsched/swarm/protocol"
)

// waitForGo is a job that runs until the file $GO exists, then prints and
// exits with $CODE.
func waitForGo(id, goFile, code string) protocol.Fire {
	f := shellFire(id, `echo started; while [ ! -e "$GO" ]; do sleep 0.02; done; echo finishing; exit "$CODE"`)
	f.Executor.Env = map[string]string{"GO": goFile, "CODE": code}
	return f
}

func touch(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, os.WriteFile(name, nil, 0o600))
}

func TestReadoptRunningProcess(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, t.TempDir())
	cfg.ID = "" // persisted in the DataDir
	goFile := filepath.Join(t.TempDir(), "go")

	first := startClient(t, cfg)
	h1 := hello(t, srv)
	ack := fire(t, srv, waitForGo("e-adopt", goFile, "7"))
	first.abandon() // a crash: no drain, no kill, no result

	second := startClient(t, cfg)
	h2 := hello(t, srv)
	require.Equal(t, h1.ID, h2.ID, "the id persists in the DataDir")
	require.Equal(t, first.ID(), second.ID())
	require.Len(t, h2.Running, 1, "the hello lists the run taken back")
	require.Equal(t, "e-adopt", h2.Running[0].ExecID)
	require.Equal(t, ack.PID, h2.Running[0].PID)
	require.True(t, ack.StartedAt.Equal(h2.Running[0].StartedAt))

	touch(t, goFile)
	res := result(t, srv, "e-adopt")

	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, 7, exitCode(t, res), "the real exit code, read from the shim's exit file")
	require.Equal(t, "started\nfinishing\n", res.Output)
	require.Contains(t, logLines(srv, "e-adopt"), "finishing", "lines written after the take-over are streamed")
	require.Eventually(t, func() bool {
		entries, err := os.ReadDir(filepath.Join(cfg.DataDir, "runs"))
		return err == nil && len(entries) == 0
	}, 5*time.Second, 10*time.Millisecond, "the run dir goes once the result is confirmed")
}

func TestReadoptReportsRunThatEndedWhileDown(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, t.TempDir())
	goFile := filepath.Join(t.TempDir(), "go")

	first := startClient(t, cfg)
	hello(t, srv)
	fire(t, srv, waitForGo("e-ended", goFile, "3"))
	first.abandon()

	touch(t, goFile)
	dir := filepath.Join(cfg.DataDir, "runs", runDirName(runKey{"e-ended", 1}))
	require.Eventually(t, func() bool {
		_, ok, _ := readExitStatus(dir)
		return ok
	}, 10*time.Second, 10*time.Millisecond)

	startClient(t, cfg)
	h := hello(t, srv)
	require.Empty(t, h.Running)
	res := result(t, srv, "e-ended")

	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, 3, exitCode(t, res))
	require.Equal(t, "started\nfinishing\n", res.Output)
}

func TestReadoptReportsVanishedRunLost(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, t.TempDir())

	first := startClient(t, cfg)
	hello(t, srv)
	ack := fire(t, srv, commandFire("e-vanish", "sleep", "60"))
	first.abandon()

	start := processStart(ack.PID)
	require.NoError(t, syscall.Kill(-ack.PID, syscall.SIGKILL)) // shim and command, no exit file
	require.Eventually(t, func() bool { return !processAlive(ack.PID, start) }, 5*time.Second, 10*time.Millisecond)

	startClient(t, cfg)
	h := hello(t, srv)
	require.Empty(t, h.Running)
	res := result(t, srv, "e-vanish")

	require.Equal(t, api.ExecLost, res.State)
	require.Equal(t, "process vanished while the client was down", res.Error)
}

func TestReadoptHandlerRunIsLost(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, t.TempDir())
	g := newGate(t)
	handle := func(c *Client) { c.Handle("waits", blockingHandler(g, nil)) }

	first := startClient(t, cfg, handle)
	hello(t, srv)
	fire(t, srv, handlerFire("e-inproc", "waits"))
	first.abandon()

	startClient(t, cfg, handle)
	hello(t, srv)
	res := result(t, srv, "e-inproc")

	require.Equal(t, api.ExecLost, res.State)
	require.Equal(t, "client restarted during the run", res.Error)
}

func TestUnconfirmedResultSurvivesRestart(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{ManualResultOK: true})
	cfg := testConfig(t, srv, t.TempDir())

	first := startClient(t, cfg)
	hello(t, srv)
	fire(t, srv, shellFire("e-keep2", "exit 5"))
	res1 := result(t, srv, "e-keep2")
	first.abandon()

	startClient(t, cfg)
	hello(t, srv)
	res2 := result(t, srv, "e-keep2")
	require.Equal(t, res1, res2, "the journalled result is sent again after a restart")
	require.NoError(t, srv.ResultOK("e-keep2", 1))
}

func TestDataDirInUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, t.TempDir())
	startClient(t, cfg)

	c, err := New(cfg)
	require.NoError(t, err)
	require.ErrorIs(t, c.Start(context.Background()), ErrDataDirInUse)
}

func TestReadoptedRunCanBeKilled(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, t.TempDir())

	first := startClient(t, cfg)
	hello(t, srv)
	ack := fire(t, srv, commandFire("e-adopted-kill", "sleep", "60"))
	first.abandon()

	startClient(t, cfg)
	require.Len(t, hello(t, srv).Running, 1)
	require.NoError(t, srv.Kill("e-adopted-kill", "killed"))
	res := result(t, srv, "e-adopted-kill")

	require.Equal(t, api.ExecKilled, res.State)
	require.Equal(t, 128+15, exitCode(t, res), "the shim recorded the SIGTERM")
	require.Eventually(t, func() bool { return processGone(ack.PID) }, 5*time.Second, 10*time.Millisecond)
}
