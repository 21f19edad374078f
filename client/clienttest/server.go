package clienttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/swarmsched/swarm/protocol"
)

// DefaultWaitTimeout is how long the Wait methods wait by default.
const DefaultWaitTimeout = 10 * time.Second

// Config configures a Server. The zero value is usable.
type Config struct {
	// ServerID is sent in welcome. Defaults to "test-server".
	ServerID string

	// HeartbeatMS is sent in welcome, and the server sends a heartbeat
	// that often. Defaults to 1000.
	HeartbeatMS int64

	// Silent stops the server's own heartbeats, to test dead-server
	// detection.
	Silent bool

	// ManualResultOK stops the automatic result_ok answer to results; the
	// test sends result_ok itself.
	ManualResultOK bool

	// Token, when set, is required as "Authorization: Bearer <Token>";
	// other requests get 401.
	Token string

	// Reject, when set, is asked about each hello; a non-nil answer is
	// sent as an error message and the connection is closed.
	Reject func(h *protocol.Hello) *protocol.Error

	// WaitTimeout bounds the Wait methods. Defaults to DefaultWaitTimeout.
	WaitTimeout time.Duration
}

// Recorded is a message the server received.
type Recorded struct {
	Conn int // the connection it came on, numbered from 1
	Seq  int // its place among all recorded messages, from 1
	Msg  protocol.Message
}

// Server is a fake swarm server on a loopback port. Its methods are safe
// for concurrent use.
type Server struct {
	cfg   Config
	http  *httptest.Server
	wsUp  websocket.Upgrader
	wg    sync.WaitGroup
	close sync.Once

	mu       sync.Mutex
	closed   bool
	conns    map[int]*serverConn
	nconns   int
	latest   int // the newest connection that said hello
	recorded []Recorded
	taken    map[int]bool
	changed  chan struct{} // closed and replaced on every new message
}

type serverConn struct {
	n    int
	ws   *websocket.Conn
	wmu  sync.Mutex
	quit chan struct{}
	once sync.Once
}

// NewServer starts a server on 127.0.0.1 and a free port.
func NewServer(cfg Config) *Server {
	if cfg.ServerID == "" {
		cfg.ServerID = "test-server"
	}
	if cfg.HeartbeatMS == 0 {
		cfg.HeartbeatMS = 1000
	}
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	s := &Server{
		cfg:     cfg,
		conns:   map[int]*serverConn{},
		taken:   map[int]bool{},
		changed: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/connect", s.serve)
	s.http = httptest.NewServer(mux)
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return strings.TrimPrefix(s.http.URL, "http://") }

// URL returns the WebSocket URL of the server's /v1/connect.
func (s *Server) URL() string { return "ws://" + s.Addr() + "/v1/connect" }

// Close drops every connection and stops the server. It may be called
// more than once.
func (s *Server) Close() {
	s.close.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*serverConn, 0, len(s.conns))
		for _, c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		for _, c := range conns {
			c.shut()
		}
		s.wg.Wait()
		s.http.Close()
	})
}

// DropConnections closes every connection without a close frame, as a
// crashed server or a broken network would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shut()
	}
}

// Connections returns how many connections the server accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nconns
}

// Send sends m on the newest connection that said hello.
func (s *Server) Send(m protocol.Message) error {
	s.mu.Lock()
	c := s.conns[s.latest]
	s.mu.Unlock()
	if c == nil {
		return errors.New("clienttest: no client connected")
	}
	return c.write(m)
}

// Fire sends a fire.
func (s *Server) Fire(f protocol.Fire) error {
	return s.Send(protocol.Message{Type: protocol.TypeFire, Fire: &f})
}

// Kill sends a kill.
func (s *Server) Kill(execID, reason string) error {
	return s.Send(protocol.Message{Type: protocol.TypeKill, Kill: &protocol.Kill{ExecID: execID, Reason: reason}})
}

// ResultOK sends a result_ok.
func (s *Server) ResultOK(execID string, attempt int) error {
	return s.Send(protocol.Message{Type: protocol.TypeResultOK, ResultOK: &protocol.ResultOK{ExecID: execID, Attempt: attempt}})
}

// Messages returns every message received so far, in order.
func (s *Server) Messages() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.recorded...)
}

// Wait returns the first received message that match accepts and that no
// earlier Wait returned, waiting up to the configured WaitTimeout for it.
func (s *Server) Wait(match func(Recorded) bool) (Recorded, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WaitTimeout)
	defer cancel()
	for {
		s.mu.Lock()
		for _, r := range s.recorded {
			if !s.taken[r.Seq] && match(r) {
				s.taken[r.Seq] = true
				s.mu.Unlock()
				return r, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()

		select {
		case <-ch:
		case <-ctx.Done():
			return Recorded{}, fmt.Errorf("clienttest: no matching message within %s", s.cfg.WaitTimeout)
		}
	}
}

// WaitType waits for the next message of type typ.
func (s *Server) WaitType(typ string) (Recorded, error) {
	return s.Wait(func(r Recorded) bool { return r.Msg.Type == typ })
}

// WaitHello waits for the next hello.
func (s *Server) WaitHello() (*protocol.Hello, error) {
	r, err := s.WaitType(protocol.TypeHello)
	return r.Msg.Hello, err
}

// WaitAck waits for the ack of (execID, attempt).
func (s *Server) WaitAck(execID string, attempt int) (*protocol.Ack, error) {
	r, err := s.Wait(func(r Recorded) bool {
		a := r.Msg.Ack
		return r.Msg.Type == protocol.TypeAck && a != nil && a.ExecID == execID && a.Attempt == attempt
	})
	return r.Msg.Ack, err
}

// WaitResult waits for the result of (execID, attempt).
func (s *Server) WaitResult(execID string, attempt int) (*protocol.Result, error) {
	r, err := s.Wait(func(r Recorded) bool {
		res := r.Msg.Result
		return r.Msg.Type == protocol.TypeResult && res != nil && res.ExecID == execID && res.Attempt == attempt
	})
	return r.Msg.Result, err
}

// serve runs one connection.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	ws, err := s.wsUp.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client already
	}
	ws.SetReadLimit(protocol.MaxMessageBytes)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.nconns++
	c := &serverConn{n: s.nconns, ws: ws, quit: make(chan struct{})}
	s.conns[c.n] = c
	s.wg.Add(1)
	s.mu.Unlock()

	defer s.wg.Done()
	s.readLoop(c)

	c.shut()
	s.mu.Lock()
	delete(s.conns, c.n)
	s.mu.Unlock()
}

func (s *Server) readLoop(c *serverConn) {
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m protocol.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return
		}
		if m.Type == protocol.TypeHello {
			// Welcome first: a test that saw the hello may Send at once.
			ok := s.answer(c, m)
			s.record(c.n, m)
			if !ok {
				return
			}
			continue
		}
		s.record(c.n, m)
		if !s.answer(c, m) {
			return
		}
	}
}

func (s *Server) record(conn int, m protocol.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded = append(s.recorded, Recorded{Conn: conn, Seq: len(s.recorded) + 1, Msg: m})
	close(s.changed)
	s.changed = make(chan struct{})
}

// answer does what a server does on m; false ends the connection.
func (s *Server) answer(c *serverConn, m protocol.Message) bool {
	switch m.Type {
	case protocol.TypeHello:
		return s.welcome(c, m.Hello)
	case protocol.TypeResult:
		if !s.cfg.ManualResultOK && m.Result != nil {
			ok := protocol.ResultOK{ExecID: m.Result.ExecID, Attempt: m.Result.Attempt}
			_ = c.write(protocol.Message{Type: protocol.TypeResultOK, ResultOK: &ok})
		}
	}
	return true
}

func (s *Server) welcome(c *serverConn, h *protocol.Hello) bool {
	if h == nil {
		return false
	}
	if s.cfg.Reject != nil {
		if e := s.cfg.Reject(h); e != nil {
			_ = c.write(protocol.Message{Type: protocol.TypeError, Error: e})
			return false
		}
	}
	w := protocol.Welcome{Protocol: protocol.Version, ServerID: s.cfg.ServerID, HeartbeatMS: s.cfg.HeartbeatMS}
	if err := c.write(protocol.Message{Type: protocol.TypeWelcome, Welcome: &w}); err != nil {
		return false
	}

	s.mu.Lock()
	s.latest = c.n
	s.mu.Unlock()
	if !s.cfg.Silent {
		s.wg.Go(func() { s.heartbeats(c) })
	}
	return true
}

func (s *Server) heartbeats(c *serverConn) {
	t := time.NewTicker(time.Duration(s.cfg.HeartbeatMS) * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			if c.write(protocol.Message{Type: protocol.TypeHeartbeat, Heartbeat: &protocol.Heartbeat{}}) != nil {
				return
			}
		}
	}
}

func (c *serverConn) write(m protocol.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.Type, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return fmt.Errorf("write %s: %w", m.Type, err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("write %s: %w", m.Type, err)
	}
	return nil
}

// shut closes the connection abruptly; its goroutines end.
func (c *serverConn) shut() {
	c.once.Do(func() {
		close(c.quit)
		c.ws.Close()
	})
}
