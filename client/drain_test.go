package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
	"github.com/swarmsched/swarm/protocol"
)

// stopAsync calls c.Stop in a goroutine; the channel closes when it
// returned.
func stopAsync(c *Client) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		c.Stop()
		close(done)
	}()
	return done
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

func TestDrainLetsRunningWorkFinish(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	g := newGate(t)
	c := startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("waits", blockingHandler(g, nil))
	})
	hello(t, srv)
	fire(t, srv, handlerFire("e-work", "waits"))

	stopped := stopAsync(c)
	_, err := srv.WaitType(protocol.TypeDrain)
	require.NoError(t, err, "the server is told first")
	refused(t, srv, handlerFire("e-late", "waits"), reasonDraining)
	g.open()

	require.Equal(t, api.ExecSucceeded, result(t, srv, "e-work").State)
	waitClosed(t, stopped, "Stop")
}

func TestDrainHandsBackWhatStillRuns(t *testing.T) {
	forEachMode(t, func(t *testing.T, dataDir string) {
		srv := newServer(t, clienttest.Config{})
		cfg := testConfig(t, srv, dataDir)
		cfg.DrainTimeout = 200 * time.Millisecond
		c := startClient(t, cfg)
		hello(t, srv)
		ack := fire(t, srv, commandFire("e-long", "sleep", "60"))

		stopped := stopAsync(c)
		res := result(t, srv, "e-long")

		require.Equal(t, api.ExecLost, res.State, "handed back so the server may run it elsewhere")
		require.Equal(t, "client drained", res.Error)
		waitClosed(t, stopped, "Stop")
		require.True(t, processGone(ack.PID))
	})
}
