package client

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
)

func TestProcessExitCodes(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		startClient(t, testConfig(t, srv, dataDir))
		hello(t, srv)

		cases := []struct {
			id, script, state, err, output string
			code                           int
		}{
			{"e-ok", "echo fine; exit 0", api.ExecSucceeded, "", "fine\n", 0},
			{"e-one", "echo bad >&2; exit 1", api.ExecFailed, "exit status 1", "bad\n", 1},
			{"e-other", "exit 42", api.ExecFailed, "exit status 42", "", 42},
		}
		for _, c := range cases {
			ack := fire(t, srv, shellFire(c.id, c.script))
			require.Positive(t, ack.PID)
			require.False(t, ack.StartedAt.IsZero())
		}
		for _, c := range cases {
			res := result(t, srv, c.id)
			require.Equal(t, c.state, res.State, c.id)
			require.Equal(t, c.code, exitCode(t, res), c.id)
			require.Equal(t, c.err, res.Error, c.id)
			require.Equal(t, c.output, res.Output, c.id)
			require.False(t, res.FinishedAt.Before(res.StartedAt), c.id)
		}
	})
}

func TestProcessOutputTailAndLogLimits(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		cfg := testConfig(t, srv, dataDir)
		cfg.OutputTailBytes = 100
		cfg.LogLinesPerSecond = 10
		cfg.LogLineBytes = 20
		startClient(t, cfg)
		hello(t, srv)

		script := `i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; echo "a-very-long-line-that-is-cut-in-the-log-stream"; echo last-line`
		fire(t, srv, shellFire("e-tail", script))
		res := result(t, srv, "e-tail")

		require.Equal(t, api.ExecSucceeded, res.State)
		require.LessOrEqual(t, len(res.Output), 100)
		require.True(t, strings.HasSuffix(res.Output, "line 499\na-very-long-line-that-is-cut-in-the-log-stream\nlast-line\n"), "tail: %q", res.Output)

		lines := logLines(srv, "e-tail")
		require.Less(t, len(lines), 100, "the stream is rate limited")
		require.Equal(t, "line 0", lines[0])
		require.Regexp(t, `^\[\.\.\. \d+ lines dropped\]$`, lines[len(lines)-1], "the last streamed line reports the drop")
	})
}

func TestProcessLongLineCut(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.LogLineBytes = 10
	startClient(t, cfg)
	hello(t, srv)

	fire(t, srv, shellFire("e-long", "echo 0123456789abcdef"))
	res := result(t, srv, "e-long")

	require.Equal(t, "0123456789abcdef\n", res.Output, "the tail keeps whole lines")
	require.Equal(t, []string{"0123456789 [truncated]"}, logLines(srv, "e-long"))
}

func TestProcessEnvironment(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		cfg := testConfig(t, srv, dataDir)
		cfg.OutputTailBytes = 64 << 10
		startClient(t, cfg)
		hello(t, srv)

		f := commandFire("e-env", "env")
		f.Attempt = 2
		f.Piece = &api.Piece{Index: 2, Count: 4, Parameter: "eu"}
		f.Data = map[string]string{"tenant": "acme", "my-key.x": "v w"}
		f.Executor.Env = map[string]string{"MODE": "full", "SWARM_DATA_TENANT": "override"}
		require.NoError(t, srv.Fire(f))
		res, err := srv.WaitResult("e-env", 2)
		require.NoError(t, err)
		require.Equal(t, api.ExecSucceeded, res.State, res.Error)

		env := map[string]string{}
		for _, line := range strings.Split(res.Output, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = v
			}
		}
		want := map[string]string{
			"SWARM_EXECUTION_ID":    "e-env",
			"SWARM_ATTEMPT":         "2",
			"SWARM_JOB":             "billing/nightly",
			"SWARM_JOB_GROUP":       "billing",
			"SWARM_JOB_NAME":        "nightly",
			"SWARM_SCHEDULED_AT":    "2026-01-02T03:04:05Z",
			"SWARM_FIRED_AT":        "2026-01-02T03:04:05.25Z",
			"SWARM_PIECE_INDEX":     "2",
			"SWARM_PIECE_COUNT":     "4",
			"SWARM_PIECE_PARAMETER": "eu",
			"SWARM_DATA":            `{"my-key.x":"v w","tenant":"acme"}`,
			"SWARM_DATA_MY_KEY_X":   "v w",
			"SWARM_DATA_TENANT":     "override", // the executor's env wins
			"MODE":                  "full",
			"PATH":                  os.Getenv("PATH"), // the client's own environment
		}
		for k, v := range want {
			require.Equal(t, v, env[k], k)
		}
	})
}

func TestProcessUnsplitFireIsPieceZeroOfOne(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	startClient(t, testConfig(t, srv, ""))
	hello(t, srv)

	fire(t, srv, shellFire("e-piece", `echo "$SWARM_PIECE_INDEX/$SWARM_PIECE_COUNT/$SWARM_PIECE_PARAMETER/$SWARM_DATA"`))
	require.Equal(t, "0/1//{}\n", result(t, srv, "e-piece").Output)
}

func TestProcessWorkingDir(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		startClient(t, testConfig(t, srv, dataDir))
		hello(t, srv)

		dir, err := filepath.EvalSymlinks(t.TempDir())
		require.NoError(t, err)
		f := commandFire("e-pwd", "pwd")
		f.Executor.Dir = dir
		fire(t, srv, f)

		require.Equal(t, dir+"\n", result(t, srv, "e-pwd").Output)
	})
}

func TestProcessShellMode(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	startClient(t, testConfig(t, srv, ""))
	hello(t, srv)

	fire(t, srv, commandFire("e-noshell", "echo", "a  b", "$HOME", "*"))
	sh := shellFire("e-shell", `echo "$((1+2))" "$1" "$#"`)
	sh.Executor.Args = []string{"first arg"}
	fire(t, srv, sh)

	require.Equal(t, "a  b $HOME *\n", result(t, srv, "e-noshell").Output, "no shell: no expansion")
	require.Equal(t, "3 first arg 1\n", result(t, srv, "e-shell").Output, "shell: args are $1...")
}

func TestProcessTimeoutKillsTree(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		startClient(t, testConfig(t, srv, dataDir))
		hello(t, srv)

		pidFile := filepath.Join(t.TempDir(), "child.pid")
		f := shellFire("e-timeout", `sleep 60 & echo $! > "$PIDFILE"; wait`)
		f.Executor.Env = map[string]string{"PIDFILE": pidFile}
		f.TimeoutMS = 1000
		fire(t, srv, f)
		res := result(t, srv, "e-timeout")

		require.Equal(t, api.ExecTimedOut, res.State)
		require.Equal(t, "timed out after 1s", res.Error)
		b, err := os.ReadFile(pidFile)
		require.NoError(t, err)
		child, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return processGone(child) }, 5*time.Second, 10*time.Millisecond, "the child the job spawned is gone")
	})
}

func TestProcessKillMessage(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		startClient(t, testConfig(t, srv, dataDir))
		hello(t, srv)

		ack := fire(t, srv, commandFire("e-kill", "sleep", "60"))
		require.NoError(t, srv.Kill("e-kill", "replaced"))
		res := result(t, srv, "e-kill")

		require.Equal(t, api.ExecKilled, res.State)
		require.Equal(t, "killed: replaced", res.Error)
		require.Equal(t, 128+15, exitCode(t, res), "ended by SIGTERM")
		require.Eventually(t, func() bool { return processGone(ack.PID) }, 5*time.Second, 10*time.Millisecond)
	})
}

func TestProcessKillGraceEscalates(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.KillGrace = 200 * time.Millisecond
	startClient(t, cfg)
	hello(t, srv)

	ready := filepath.Join(t.TempDir(), "ready")
	f := shellFire("e-stubborn", `trap '' TERM; touch "$READY"; while :; do sleep 0.05; done`)
	f.Executor.Env = map[string]string{"READY": ready}
	fire(t, srv, f)
	require.Eventually(t, func() bool { _, err := os.Stat(ready); return err == nil }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, srv.Kill("e-stubborn", ""))
	res := result(t, srv, "e-stubborn")

	require.Equal(t, api.ExecKilled, res.State)
	require.Equal(t, "killed", res.Error)
	require.Equal(t, 128+9, exitCode(t, res), "SIGTERM ignored, SIGKILL after the grace")
}

func TestAllowExec(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.AllowExec = []string{"/bin/*"}
	startClient(t, cfg)
	hello(t, srv)

	refused(t, srv, commandFire("e-usr", "/usr/bin/env"), reasonNotAllowed)
	refused(t, srv, commandFire("e-climb", "/bin/../usr/bin/env"), reasonNotAllowed)
	refused(t, srv, shellFire("e-sh", "true"), reasonNotAllowed)
	fire(t, srv, commandFire("e-bin", "/bin/true"))
	require.Equal(t, api.ExecSucceeded, result(t, srv, "e-bin").State)
}

func TestProcessStartFailure(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		startClient(t, testConfig(t, srv, dataDir))
		hello(t, srv)

		fire(t, srv, commandFire("e-missing", "/nonexistent/command"))
		res := result(t, srv, "e-missing")

		require.Equal(t, api.ExecFailed, res.State)
		require.Contains(t, res.Error, "start: ")
		require.Contains(t, res.Error, "/nonexistent/command")
		require.Nil(t, res.ExitCode)
	})
}

func TestInvalidFiresRefused(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	startClient(t, testConfig(t, srv, ""))
	hello(t, srv)

	refused(t, srv, commandFire("e-empty", ""), reasonInvalid)
	odd := baseFire("e-kind")
	odd.Executor.Kind = "teleport"
	refused(t, srv, odd, reasonInvalid)
	refused(t, srv, handlerFire("e-nohandler", "no.such.handler"), reasonUnknownHandler)
}

func TestProcessCommandFoundInJobPath(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		startClient(t, testConfig(t, srv, dataDir))
		hello(t, srv)

		bin := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(bin, "swarm-test-job"), []byte("#!/bin/sh\necho found in job path\n"), 0o755))
		f := commandFire("e-path", "swarm-test-job")
		f.Executor.Env = map[string]string{"PATH": bin + ":" + os.Getenv("PATH")}
		fire(t, srv, f)

		require.Equal(t, "found in job path\n", result(t, srv, "e-path").Output)
	})
}
