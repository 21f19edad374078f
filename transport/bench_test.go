package transport_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

// nopEvents confirms results at once and ignores everything else.
type nopEvents struct{}

func (nopEvents) ClientConnected(transport.ClientInfo, []protocol.Running) {}
func (nopEvents) ClientDisconnected(string)                                {}
func (nopEvents) Ack(string, *protocol.Ack)                                {}
func (nopEvents) Result(_ string, _ *protocol.Result, done func(error))    { done(nil) }
func (nopEvents) Log(string, *protocol.Log)                                {}

// benchClients are n workers connected to a hub over loopback WebSocket;
// each counts the messages it receives after welcome.
type benchClients struct {
	hub  *transport.Hub
	srv  *httptest.Server
	ids  []string
	conn []*websocket.Conn
	got  atomic.Int64
	want atomic.Int64  // fires expected in all
	done chan struct{} // closed when the want-th fire arrives
	wg   sync.WaitGroup
}

func newBenchClients(b *testing.B, n int) *benchClients {
	b.Helper()
	// No heartbeats during the run: every message a client gets is a fire.
	hub, err := transport.NewHub(transport.HubConfig{ServerID: "s1", Events: nopEvents{}, Heartbeat: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	c := &benchClients{hub: hub, srv: httptest.NewServer(hub), done: make(chan struct{})}
	url := "ws" + strings.TrimPrefix(c.srv.URL, "http") + "/"
	for i := range n {
		id := fmt.Sprintf("w%04d", i)
		conn, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			c.close()
			b.Fatal(err)
		}
		c.ids, c.conn = append(c.ids, id), append(c.conn, conn)
		hello, _ := json.Marshal(protocol.Message{Type: protocol.TypeHello, Hello: &protocol.Hello{
			Protocol: protocol.Version, ID: id, Group: api.DefaultGroup, Capacity: 1 << 20}})
		if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
			c.close()
			b.Fatal(err)
		}
		if _, _, err := conn.ReadMessage(); err != nil { // welcome
			c.close()
			b.Fatal(err)
		}
		c.wg.Add(1)
		go c.read(conn)
	}
	return c
}

func (c *benchClients) read(conn *websocket.Conn) {
	defer c.wg.Done()
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
		if c.got.Add(1) == c.want.Load() {
			close(c.done)
		}
	}
}

func (c *benchClients) close() {
	for _, conn := range c.conn {
		conn.Close()
	}
	c.hub.Close()
	c.srv.Close()
	c.wg.Wait()
}

// wait waits until the wanted number of fires has arrived.
func (c *benchClients) wait(b *testing.B) {
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d fires arrived within a minute", c.got.Load(), c.want.Load())
	}
}

// BenchmarkHubDeliver hands fires to the hub round robin over n
// connected clients and waits until every client has read its fires: the
// WebSocket fan-out of one server, encoding included.
func BenchmarkHubDeliver(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			c := newBenchClients(b, n)
			defer c.close()
			// A pool of ids per client keeps the hub's in-flight set bounded
			// without results coming back.
			ids := make([]string, 4096)
			for i := range ids {
				ids[i] = fmt.Sprintf("1.%016x.1764763200000.0", i)
			}
			scheduled := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			c.want.Store(int64(b.N))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := &protocol.Fire{ExecID: ids[i%len(ids)], Attempt: 1, Shard: 1, Term: 1, Job: "bench/j0000001",
					JobID: "0000000000000001", ScheduledAt: scheduled, FiredAt: scheduled, Leader: "s1",
					Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"}}
				for {
					err := c.hub.Deliver(c.ids[i%n], f)
					if errors.Is(err, transport.ErrSendQueue) {
						runtime.Gosched() // the client's queue is full: let the writer drain it
						continue
					}
					if err != nil {
						b.Fatal(err)
					}
					break
				}
			}
			c.wait(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fires/s")
		})
	}
}
