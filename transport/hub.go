package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// Hub defaults.
const (
	DefaultHeartbeat = 5 * time.Second

	// missedHeartbeats: a client silent this many intervals is dropped.
	missedHeartbeats = 3
	writeTimeout     = 10 * time.Second
	helloTimeout     = 10 * time.Second
	sendQueue        = 1024
)

// Errors of Deliver.
var (
	ErrNoClient   = errors.New("client not connected here")
	ErrStaleTerm  = errors.New("fire from a stale leader term")
	ErrSendQueue  = errors.New("client send queue full")
	ErrHubClosing = errors.New("hub closing")
)

// ClientInfo describes a connected client.
type ClientInfo struct {
	ID          string            `json:"id"`
	Group       string            `json:"group"`
	Server      string            `json:"server"`
	Capacity    int               `json:"capacity"`
	Running     int               `json:"running"`
	Labels      map[string]string `json:"labels,omitempty"`
	Handlers    []string          `json:"handlers,omitempty"`
	ConnectedAt time.Time         `json:"connected_at"`
	Draining    bool              `json:"draining,omitempty"`
}

// Free is the capacity left.
func (c ClientInfo) Free() int {
	if c.Draining {
		return 0
	}
	return max(0, c.Capacity-c.Running)
}

// API renders the client as GET /v1/clients shows it.
func (c ClientInfo) API() api.Client {
	return api.Client{ID: c.ID, Group: c.Group, Server: c.Server, Capacity: c.Capacity, Running: c.Running,
		Labels: c.Labels, Handlers: c.Handlers, ConnectedAt: c.ConnectedAt.UTC()}
}

// HubEvents receives what clients say. Calls come from each connection's
// reader goroutine and must not block for long.
type HubEvents interface {
	ClientConnected(c ClientInfo, running []protocol.Running)
	ClientDisconnected(id string)
	Ack(client string, a *protocol.Ack)
	// Result must call done once the result is durable (nil) or not; the
	// hub then confirms it to the client with result_ok.
	Result(client string, r *protocol.Result, done func(error))
	Log(client string, l *protocol.Log)
}

// HubConfig configures a Hub.
type HubConfig struct {
	// ServerID names this server in ClientInfo. Required.
	ServerID string

	// Heartbeat is the interval clients are told to heartbeat at.
	// Defaults to DefaultHeartbeat.
	Heartbeat time.Duration

	// Events receives client messages. Required.
	Events HubEvents

	// Authorize, if set, decides whether a connection may register with
	// its hello; an error refuses it.
	Authorize func(r *http.Request, hello *protocol.Hello) error

	// Metrics counts the connected clients. Nil means none.
	Metrics HubMetrics

	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// HubMetrics counts the clients connected to a hub, per client group.
// Calls must not block.
type HubMetrics interface {
	ClientsChanged(group string, delta int)
}

// Hub holds the WebSocket connections of workers on this server: it
// registers them, carries fires to them and their answers back. It owns a
// writer goroutine per connection; each connection's reader runs on the
// HTTP handler goroutine. Close ends them all and waits.
type Hub struct {
	cfg      HubConfig
	upgrader websocket.Upgrader

	mu       sync.Mutex
	sessions map[string]*session
	terms    map[int]uint64 // highest leader term seen per shard
	closed   bool

	// version counts changes to the client list (connects, disconnects,
	// running counts), so peers fetch it only when it changed.
	version uint64

	wg sync.WaitGroup
}

// NewHub validates cfg and returns a Hub.
func NewHub(cfg HubConfig) (*Hub, error) {
	if cfg.ServerID == "" || cfg.Events == nil {
		return nil, errors.New("hub config: ServerID and Events are required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		cfg:      cfg,
		upgrader: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096},
		sessions: map[string]*session{},
		terms:    map[int]uint64{},
	}, nil
}

type session struct {
	hub  *Hub
	conn *websocket.Conn
	info ClientInfo
	send chan *protocol.Message
	done chan struct{}
	once sync.Once

	// inflight holds the executions sent and not finished, for capacity.
	inflight map[string]bool
}

// ServeHTTP upgrades a worker's connection and serves it until it ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn.SetReadLimit(protocol.MaxMessageBytes)

	hello, err := h.readHello(conn, r)
	if err != nil {
		h.refuse(conn, err)
		return
	}
	s := h.register(conn, hello)
	if s == nil {
		h.refuse(conn, &protocol.Error{Code: "unavailable", Message: "server is shutting down"})
		return
	}
	defer h.wg.Done() // the reader, counted by register
	info := s.snapshot()
	h.cfg.Logger.Info("client connected", "client", info.ID, "group", info.Group, "capacity", info.Capacity, "remote", r.RemoteAddr)
	h.countClient(info.Group, 1)
	h.cfg.Events.ClientConnected(info, hello.Running)
	s.readLoop()
	h.unregister(s)
	h.countClient(info.Group, -1)
	h.cfg.Events.ClientDisconnected(s.info.ID)
	h.cfg.Logger.Info("client disconnected", "client", s.info.ID, "group", s.info.Group)
}

// countClient reports a session's start (+1) or end (-1). A client that
// reconnects is counted twice until its old session's reader ends.
func (h *Hub) countClient(group string, delta int) {
	if h.cfg.Metrics != nil {
		h.cfg.Metrics.ClientsChanged(group, delta)
	}
}

func (h *Hub) readHello(conn *websocket.Conn, r *http.Request) (*protocol.Hello, error) {
	conn.SetReadDeadline(time.Now().Add(helloTimeout))
	var m protocol.Message
	if err := conn.ReadJSON(&m); err != nil {
		return nil, &protocol.Error{Code: "invalid_hello", Message: "read hello: " + err.Error()}
	}
	if m.Type != protocol.TypeHello || m.Hello == nil {
		return nil, &protocol.Error{Code: "invalid_hello", Message: "the first message must be a hello"}
	}
	hello := m.Hello
	if hello.Protocol < protocol.MinVersion || hello.Protocol > protocol.Version {
		return nil, &protocol.Error{Code: "unsupported_protocol",
			Message: fmt.Sprintf("protocol %d is not supported; this server speaks %d to %d", hello.Protocol, protocol.MinVersion, protocol.Version)}
	}
	if err := checkHello(hello); err != nil {
		return nil, err
	}
	if h.cfg.Authorize != nil {
		if err := h.cfg.Authorize(r, hello); err != nil {
			return nil, &protocol.Error{Code: "forbidden", Message: err.Error()}
		}
	}
	return hello, nil
}

func checkHello(hello *protocol.Hello) error {
	if hello.Group == "" {
		hello.Group = api.DefaultGroup
	}
	switch {
	case !api.ValidName(hello.ID):
		return &protocol.Error{Code: "invalid_hello", Message: "id: must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
	case !api.ValidName(hello.Group):
		return &protocol.Error{Code: "invalid_hello", Message: "group: must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
	case hello.Capacity < 1:
		return &protocol.Error{Code: "invalid_hello", Message: "capacity: must be at least 1"}
	}
	return nil
}

func (h *Hub) refuse(conn *websocket.Conn, err error) {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		pe = &protocol.Error{Code: "invalid_hello", Message: err.Error()}
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	conn.WriteJSON(&protocol.Message{Type: protocol.TypeError, Error: pe})
	conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, pe.Code))
	conn.Close()
}

// register adds a session, replacing an older one with the same id.
func (h *Hub) register(conn *websocket.Conn, hello *protocol.Hello) *session {
	s := &session{
		hub:  h,
		conn: conn,
		info: ClientInfo{
			ID: hello.ID, Group: hello.Group, Server: h.cfg.ServerID, Capacity: hello.Capacity,
			Labels: hello.Labels, Handlers: hello.Handlers, ConnectedAt: time.Now(),
		},
		send:     make(chan *protocol.Message, sendQueue),
		done:     make(chan struct{}),
		inflight: map[string]bool{},
	}
	for _, r := range hello.Running {
		s.inflight[r.ExecID] = true
	}
	s.info.Running = len(s.inflight)

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	old := h.sessions[hello.ID]
	h.sessions[hello.ID] = s
	h.version++
	h.wg.Add(2) // writer and reader
	h.mu.Unlock()

	if old != nil {
		old.close()
	}
	s.enqueue(&protocol.Message{Type: protocol.TypeWelcome, Welcome: &protocol.Welcome{
		Protocol: protocol.Version, ServerID: h.cfg.ServerID, HeartbeatMS: h.cfg.Heartbeat.Milliseconds(),
	}})
	go s.writeLoop()
	return s
}

func (h *Hub) unregister(s *session) {
	s.close()
	h.mu.Lock()
	if h.sessions[s.info.ID] == s {
		delete(h.sessions, s.info.ID)
		h.version++
	}
	h.mu.Unlock()
}

// snapshot copies the session's info; Deliver and finish change its
// running count under the hub's lock.
func (s *session) snapshot() ClientInfo {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.info
}

func (s *session) close() {
	s.once.Do(func() {
		close(s.done)
		s.conn.Close()
	})
}

// enqueue queues a message; it fails rather than block when the client
// cannot keep up.
func (s *session) enqueue(m *protocol.Message) error {
	select {
	case <-s.done:
		return ErrNoClient
	default:
	}
	select {
	case s.send <- m:
		return nil
	default:
		return ErrSendQueue
	}
}

func (s *session) writeLoop() {
	defer s.hub.wg.Done()
	hb := time.NewTicker(s.hub.cfg.Heartbeat)
	defer hb.Stop()
	for {
		var m *protocol.Message
		select {
		case <-s.done:
			return
		case m = <-s.send:
		case <-hb.C:
			m = &protocol.Message{Type: protocol.TypeHeartbeat, Heartbeat: &protocol.Heartbeat{}}
		}
		s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := s.conn.WriteJSON(m); err != nil {
			s.close()
			return
		}
	}
}

func (s *session) readLoop() {
	timeout := time.Duration(missedHeartbeats) * s.hub.cfg.Heartbeat
	for {
		s.conn.SetReadDeadline(time.Now().Add(timeout))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		var m protocol.Message
		if err := json.Unmarshal(data, &m); err != nil {
			s.hub.cfg.Logger.Warn("client sent a malformed message", "client", s.info.ID, "error", err)
			continue
		}
		s.handle(&m)
	}
}

func (s *session) handle(m *protocol.Message) {
	h := s.hub
	switch {
	case m.Type == protocol.TypeHeartbeat:
	case m.Type == protocol.TypeAck && m.Ack != nil:
		if !m.Ack.Accepted {
			s.finish(m.Ack.ExecID)
		}
		h.cfg.Events.Ack(s.info.ID, m.Ack)
	case m.Type == protocol.TypeResult && m.Result != nil:
		r := m.Result
		s.finish(r.ExecID)
		h.cfg.Events.Result(s.info.ID, r, func(err error) {
			if err == nil {
				s.enqueue(&protocol.Message{Type: protocol.TypeResultOK, ResultOK: &protocol.ResultOK{ExecID: r.ExecID, Attempt: r.Attempt}})
			}
		})
	case m.Type == protocol.TypeLog && m.Log != nil:
		h.cfg.Events.Log(s.info.ID, m.Log)
	case m.Type == protocol.TypeDrain:
		h.mu.Lock()
		s.info.Draining = true
		h.version++
		h.mu.Unlock()
		h.cfg.Logger.Info("client draining", "client", s.info.ID)
	default:
		h.cfg.Logger.Debug("client sent an unknown message", "client", s.info.ID, "type", m.Type)
	}
}

// finish frees the capacity an execution held.
func (s *session) finish(execID string) {
	s.hub.mu.Lock()
	if s.inflight[execID] {
		delete(s.inflight, execID)
		s.info.Running = len(s.inflight)
		s.hub.version++
	}
	s.hub.mu.Unlock()
}

// Deliver sends a fire to a client connected here. A fire whose leader
// term is older than one already seen for its shard is refused: a deposed
// leader that wakes up cannot fire.
func (h *Hub) Deliver(clientID string, f *protocol.Fire) error {
	h.mu.Lock()
	if f.Term < h.terms[f.Shard] {
		h.mu.Unlock()
		return ErrStaleTerm
	}
	h.terms[f.Shard] = f.Term
	s := h.sessions[clientID]
	if s != nil && !s.inflight[f.ExecID] {
		s.inflight[f.ExecID] = true
		s.info.Running = len(s.inflight)
		h.version++
	}
	h.mu.Unlock()
	if s == nil {
		return ErrNoClient
	}
	if err := s.enqueue(&protocol.Message{Type: protocol.TypeFire, Fire: f}); err != nil {
		s.finish(f.ExecID)
		return err
	}
	return nil
}

// Kill asks a client connected here to stop a run.
func (h *Hub) Kill(clientID string, k *protocol.Kill) error {
	h.mu.Lock()
	s := h.sessions[clientID]
	h.mu.Unlock()
	if s == nil {
		return ErrNoClient
	}
	return s.enqueue(&protocol.Message{Type: protocol.TypeKill, Kill: k})
}

// Connected reports whether a client is connected here.
func (h *Hub) Connected(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.sessions[id]
	return ok
}

// Clients lists the clients connected here, by id.
func (h *Hub) Clients() []ClientInfo {
	out, _ := h.ClientsVersion()
	return out
}

// ClientsVersion lists the clients connected here and the version of that
// list.
func (h *Hub) ClientsVersion() ([]ClientInfo, uint64) {
	h.mu.Lock()
	out := make([]ClientInfo, 0, len(h.sessions))
	for _, s := range h.sessions {
		out = append(out, s.info)
	}
	v := h.version
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, v
}

// Close disconnects every client and waits for each connection's reader
// and writer to exit.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	sessions := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	for _, s := range sessions {
		s.close()
	}
	h.wg.Wait()
}
