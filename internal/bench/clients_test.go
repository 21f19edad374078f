package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

// hubEvents hands what the hub hears to the test. Results whose exec id
// starts with "hold" are never confirmed.
type hubEvents struct {
	connected chan string
	acks      chan *protocol.Ack
	results   chan *protocol.Result
}

func (e *hubEvents) ClientConnected(c transport.ClientInfo, _ []protocol.Running) {
	e.connected <- c.ID
}
func (e *hubEvents) ClientDisconnected(string)     {}
func (e *hubEvents) Ack(_ string, a *protocol.Ack) { e.acks <- a }
func (e *hubEvents) Log(string, *protocol.Log)     {}
func (e *hubEvents) Result(_ string, r *protocol.Result, done func(error)) {
	e.results <- r
	if !strings.HasPrefix(r.ExecID, "hold") {
		done(nil)
	}
}

// dropListener remembers the connections it accepted so a test can cut
// them, WebSocket ones included (the HTTP server forgets a hijacked
// connection).
type dropListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *dropListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *dropListener) dropAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func next[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived within 10 s")
	}
	var zero T
	return zero
}

func TestWorkersAnswerFiresThroughARealHub(t *testing.T) {
	ev := &hubEvents{connected: make(chan string, 8), acks: make(chan *protocol.Ack, 64), results: make(chan *protocol.Result, 64)}
	hub, err := transport.NewHub(transport.HubConfig{ServerID: "s1", Events: ev, Heartbeat: time.Second})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(hub)
	ln := &dropListener{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	defer hub.Close()

	minute := time.Now().UTC().Truncate(time.Minute)
	rec := NewRecorder(Schedule{Period: time.Minute}, 3, jobPrefix)
	require.NoError(t, rec.SetWindow(minute.Unix(), minute.Unix()+60, 0))
	pool, err := startPool(context.Background(), poolConfig{Servers: []string{strings.TrimPrefix(srv.URL, "http://")},
		Workers: 2, Group: api.DefaultGroup, Capacity: 10, IDPrefix: "t-w", Recorder: rec,
		Logger: slog.New(slog.DiscardHandler)}, 10*time.Second)
	require.NoError(t, err)
	defer pool.Stop()
	require.ElementsMatch(t, []string{"t-w00000", "t-w00001"}, []string{next(t, ev.connected), next(t, ev.connected)})

	fire := func(execID string, job int) *protocol.Fire {
		at := minute.Add(time.Duration(job) * time.Second)
		return &protocol.Fire{ExecID: execID, Attempt: 1, Shard: 1, Term: 1, Job: fmt.Sprintf("%s%07d", jobPrefix, job),
			ScheduledAt: at, FiredAt: at, Leader: "s1", Executor: api.Executor{Kind: "process", Command: "true"}}
	}

	// A fire is acknowledged, then reported succeeded.
	require.NoError(t, hub.Deliver("t-w00000", fire("e-1", 1)))
	ack := next(t, ev.acks)
	require.Equal(t, "e-1", ack.ExecID)
	require.Equal(t, 1, ack.Attempt)
	require.True(t, ack.Accepted)
	require.False(t, ack.StartedAt.IsZero())
	res := next(t, ev.results)
	require.Equal(t, "e-1", res.ExecID)
	require.Equal(t, api.ExecSucceeded, res.State)

	// The same (exec id, attempt) again is acknowledged again but not run:
	// the next result on the connection is the following fire's.
	require.NoError(t, hub.Deliver("t-w00000", fire("e-1", 1)))
	require.NoError(t, hub.Deliver("t-w00000", fire("hold-2", 2)))
	require.Equal(t, "e-1", next(t, ev.acks).ExecID)
	require.Equal(t, "hold-2", next(t, ev.acks).ExecID)
	require.Equal(t, "hold-2", next(t, ev.results).ExecID)

	// After a reconnect the unconfirmed result is sent again.
	ln.dropAll()
	require.ElementsMatch(t, []string{"t-w00000", "t-w00001"}, []string{next(t, ev.connected), next(t, ev.connected)})
	require.Equal(t, "hold-2", next(t, ev.results).ExecID)

	require.Equal(t, int64(3), pool.Stats().Fires)
	tally := rec.Tally()
	require.Equal(t, 2, tally.Received)
	require.Equal(t, 1, tally.Duplicates)
	require.Equal(t, map[string]int{"s1": 3}, tally.Leaders)
}
