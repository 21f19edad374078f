package client

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
	"github.com/swarmsched/swarm/protocol"
)

func TestHelloAndHeartbeats(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{Token: "s3cret"})
	cfg := testConfig(t, srv, "")
	cfg.ID = ""
	cfg.Token = "s3cret"
	cfg.Capacity = 3
	cfg.Labels = map[string]string{"zone": "eu-1"}
	cfg.HeartbeatInterval = 20 * time.Millisecond
	g := newGate(t)
	c := startClient(t, cfg, func(c *Client) {
		c.Handle("b.second", blockingHandler(g, nil))
		c.Handle("a.first", blockingHandler(g, nil))
	})
	h := hello(t, srv)

	require.Equal(t, protocol.Version, h.Protocol)
	require.Equal(t, c.ID(), h.ID)
	require.Equal(t, defaultID(), h.ID, "no ID, no DataDir: hostname-pid")
	require.Equal(t, DefaultGroup, h.Group)
	require.Equal(t, 3, h.Capacity)
	require.Equal(t, map[string]string{"zone": "eu-1"}, h.Labels)
	require.Equal(t, []string{"a.first", "b.second"}, h.Handlers)
	require.Equal(t, "swarm-go-client", h.Software)
	require.Empty(t, h.Running)

	fire(t, srv, handlerFire("e-hb", "a.first"))
	_, err := srv.Wait(func(r clienttest.Recorded) bool {
		return r.Msg.Type == protocol.TypeHeartbeat && r.Msg.Heartbeat.Running == 1
	})
	require.NoError(t, err, "a heartbeat reports the running count")
	g.open()
	result(t, srv, "e-hb")
}

func TestReconnectSendsRunningInHello(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	g := newGate(t)
	startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("waits", blockingHandler(g, nil))
	})
	hello(t, srv)
	ack := fire(t, srv, handlerFire("e-run", "waits"))

	srv.DropConnections()
	h := hello(t, srv)

	require.Len(t, h.Running, 1)
	require.Equal(t, "e-run", h.Running[0].ExecID)
	require.Equal(t, 1, h.Running[0].Attempt)
	require.True(t, ack.StartedAt.Equal(h.Running[0].StartedAt))
	g.open()
	res := result(t, srv, "e-run")
	require.Equal(t, api.ExecSucceeded, res.State)
	require.Equal(t, 2, srv.Connections())
}

func TestFailoverToSecondServer(t *testing.T) {
	t.Parallel()
	dead := deadAddr(t)
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.Servers = []string{dead, "http://" + srv.Addr()}
	c := startClient(t, cfg, func(c *Client) {
		c.firstServer = 0 // the dead one first
		c.testSignals.connected.Init(t)
	})

	require.Equal(t, srv.URL(), c.testSignals.connected.WaitOrTimeout(t))
	hello(t, srv)
}

func TestFailoverWhenServerDies(t *testing.T) {
	t.Parallel()
	first := clienttest.NewServer(clienttest.Config{})
	defer first.Close()
	second := newServer(t, clienttest.Config{})
	cfg := testConfig(t, first, "")
	cfg.Servers = []string{first.Addr(), second.URL()}
	c := startClient(t, cfg, func(c *Client) {
		c.firstServer = 0
		c.maxBackoff = 200 * time.Millisecond
		c.testSignals.connected.Init(t)
	})
	require.Equal(t, first.URL(), c.testSignals.connected.WaitOrTimeout(t))

	first.Close()
	require.Equal(t, second.URL(), c.testSignals.connected.WaitOrTimeout(t))
	hello(t, second)
}

func TestUnconfirmedResultsResentUntilConfirmed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{ManualResultOK: true})
	startClient(t, testConfig(t, srv, ""))
	hello(t, srv)

	fire(t, srv, shellFire("e-x", "echo x"))
	first, err := srv.WaitResult("e-x", 1)
	require.NoError(t, err)

	srv.DropConnections()
	hello(t, srv)
	again, err := srv.WaitResult("e-x", 1)
	require.NoError(t, err, "an unconfirmed result is sent again after a reconnect")
	require.Equal(t, first, again)

	require.NoError(t, srv.ResultOK("e-x", 1))
	// Messages are handled in order: once the client acknowledges a fire
	// sent after the result_ok, it has processed the result_ok.
	fire(t, srv, shellFire("e-sync", "true"))
	srv.DropConnections()
	hello(t, srv)
	fire(t, srv, shellFire("e-y", "true"))

	for _, r := range srv.Messages() {
		if r.Conn == 3 && r.Msg.Type == protocol.TypeResult {
			require.NotEqual(t, "e-x", r.Msg.Result.ExecID, "a confirmed result is not sent again")
		}
	}
	for _, id := range []string{"e-sync", "e-y"} {
		result(t, srv, id)
		require.NoError(t, srv.ResultOK(id, 1)) // so Stop need not wait for them
	}
}

func TestDuplicateFireRunsOnce(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	g := newGate(t)
	calls := make(chan string, 10)
	startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.Handle("once", blockingHandler(g, calls))
	})
	hello(t, srv)

	f := handlerFire("e-dup", "once")
	first := fire(t, srv, f)
	second := fire(t, srv, f) // while it runs
	require.True(t, first.StartedAt.Equal(second.StartedAt))
	g.open()
	require.Equal(t, api.ExecSucceeded, result(t, srv, "e-dup").State)
	third := fire(t, srv, f) // after it ended
	require.True(t, first.StartedAt.Equal(third.StartedAt))

	// A different attempt is a new run.
	retry := f
	retry.Attempt = 2
	require.NoError(t, srv.Fire(retry))
	res, err := srv.WaitResult("e-dup", 2)
	require.NoError(t, err)
	require.Equal(t, api.ExecSucceeded, res.State)

	require.Equal(t, "e-dup", <-calls)
	require.Equal(t, "e-dup", <-calls)
	require.Empty(t, calls, "attempt 1 ran once, attempt 2 once")
	n := 0
	for _, r := range srv.Messages() {
		if r.Msg.Type == protocol.TypeResult && r.Msg.Result.ExecID == "e-dup" && r.Msg.Result.Attempt == 1 {
			n++
		}
	}
	require.Equal(t, 1, n)
}

func TestCapacityRefusal(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	cfg := testConfig(t, srv, "")
	cfg.Capacity = 1
	g := newGate(t)
	startClient(t, cfg, func(c *Client) {
		c.Handle("waits", blockingHandler(g, nil))
	})
	hello(t, srv)

	fire(t, srv, handlerFire("e-a", "waits"))
	refused(t, srv, handlerFire("e-b", "waits"), reasonCapacity)
	g.open()
	result(t, srv, "e-a")

	// A late copy of the refused attempt is refused again, though there
	// is room now: the server may have given it to another worker.
	require.NoError(t, srv.Fire(handlerFire("e-b", "waits")))
	second := handlerFire("e-b", "waits")
	second.Attempt = 2
	require.NoError(t, srv.Fire(second))
	ack, err := srv.WaitAck("e-b", 2)
	require.NoError(t, err)
	require.True(t, ack.Accepted, "capacity is free again")

	var first []string
	for _, r := range srv.Messages() {
		if a := r.Msg.Ack; r.Msg.Type == protocol.TypeAck && a.ExecID == "e-b" && a.Attempt == 1 {
			require.False(t, a.Accepted, "attempt 1 ran after it was refused")
			first = append(first, a.Reason)
		}
	}
	require.Equal(t, []string{reasonCapacity, reasonCapacity}, first)
}

func TestSilentServerIsLeft(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{Silent: true, HeartbeatMS: 30})
	cfg := testConfig(t, srv, "")
	startClient(t, cfg, func(c *Client) { c.maxBackoff = 100 * time.Millisecond })

	hello(t, srv)
	hello(t, srv) // it gave up on the silent connection and came back
	require.GreaterOrEqual(t, srv.Connections(), 2)
}

func TestServerErrorBacksOffAndRetries(t *testing.T) {
	t.Parallel()
	var refusals atomic.Int32
	srv := newServer(t, clienttest.Config{Reject: func(h *protocol.Hello) *protocol.Error {
		if refusals.Add(1) > 1 {
			return nil
		}
		return &protocol.Error{Code: "unsupported_protocol", Message: "speak version 2"}
	}})
	c := startClient(t, testConfig(t, srv, ""), func(c *Client) {
		c.maxBackoff = 100 * time.Millisecond
		c.testSignals.connected.Init(t)
	})

	hello(t, srv) // refused
	hello(t, srv) // welcomed
	require.Equal(t, srv.URL(), c.testSignals.connected.WaitOrTimeout(t))
}

func TestStartTwiceAndStopBeforeStart(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	c, err := New(testConfig(t, srv, ""))
	require.NoError(t, err)
	c.Stop() // before Start: nothing to do

	require.NoError(t, c.Start(context.Background()))
	require.Error(t, c.Start(context.Background()))
	c.Stop()
	c.Stop()
	require.Panics(t, func() { c.Handle("late", blockingHandler(newGate(t), nil)) })
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	c, err := New(testConfig(t, srv, ""))
	require.NoError(t, err)
	c.testSignals.connected.Init(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	c.testSignals.connected.WaitOrTimeout(t) // past the welcome
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	_, err = srv.WaitType(protocol.TypeDrain)
	require.NoError(t, err, "a cancelled context drains")
}

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestStartStopRepeatedly(t *testing.T) {
	t.Parallel()
	srv := newServer(t, clienttest.Config{})
	for range 10 {
		c, err := New(testConfig(t, srv, ""))
		require.NoError(t, err)
		require.NoError(t, c.Start(context.Background()))
		hello(t, srv)
		c.Stop()
	}
	require.Equal(t, 10, srv.Connections())
}
