package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/swarmsched/swarm/protocol"
)

// Connection timing.
const (
	handshakeTimeout = 10 * time.Second // dial plus hello -> welcome
	writeTimeout     = 10 * time.Second // one message
	minBackoff       = 100 * time.Millisecond

	// silentIntervals heartbeat intervals without a message from the
	// server mean the server (or the path to it) is dead.
	silentIntervals = 3

	// resultResendInterval: a result unconfirmed this long is sent again
	// on the same connection, in case the server lost it.
	resultResendInterval = 30 * time.Second
)

// errSilent ends a session whose server stopped talking.
var errSilent = errors.New("server silent for three heartbeat intervals")

// serverError is an error message from the server; the server closes the
// connection after it.
type serverError struct {
	code, message string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("server error %s: %s", e.code, e.message)
}

// connect keeps one session up until ctx is cancelled: it dials the
// servers in turn, backing off exponentially with jitter up to maxBackoff.
func (c *Client) connect(ctx context.Context) {
	idx := c.firstServer
	if idx < 0 {
		idx = rand.IntN(len(c.servers)) // spread a fleet over the servers
	}
	failures := 0
	for {
		url := c.servers[idx%len(c.servers)]
		began := time.Now()
		established, err := c.session(ctx, url)
		if ctx.Err() != nil {
			return
		}

		if established {
			c.log.Warn("connection lost", "server", url, "error", err)
			if time.Since(began) > c.maxBackoff {
				failures = 0
			}
		} else {
			// Warn on the first failure and every tenth after it: servers
			// that stay down would otherwise log every few seconds.
			level := slog.LevelDebug
			if failures%10 == 0 {
				level = slog.LevelWarn
			}
			c.log.Log(ctx, level, "connect failed", "server", url, "attempt", failures+1, "error", err)
			idx++ // try the next server
		}

		delay := backoff(failures, c.maxBackoff)
		if se := (*serverError)(nil); errors.As(err, &se) {
			delay = c.maxBackoff // a refusal will not change soon
		}
		failures++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is the wait after n consecutive failures: minBackoff doubled n
// times, capped at limit, with the upper half jittered.
func backoff(n int, limit time.Duration) time.Duration {
	d := limit
	if n < 30 && minBackoff<<n < limit {
		d = minBackoff << n
	}
	return d/2 + rand.N(d/2+1)
}

// session runs one connection: dial, hello, welcome, then the message
// loop. established reports whether the welcome arrived.
func (c *Client) session(ctx context.Context, url string) (established bool, err error) {
	conn, err := c.dial(ctx, url)
	if err != nil {
		return false, err
	}
	defer conn.Close()

	s := &session{c: c, conn: conn, in: make(chan protocol.Message), readErr: make(chan error, 1), quit: make(chan struct{}), sent: map[runKey]time.Time{}}
	unblock := context.AfterFunc(ctx, func() { conn.Close() }) // a stop must not wait for a slow welcome
	w, err := s.handshake()
	if !unblock() || err != nil {
		return false, cmp.Or(err, ctx.Err())
	}

	c.connected.Store(true)
	defer c.connected.Store(false)
	c.log.Info("connected", "server", url, "server_id", w.ServerID, "heartbeat_ms", w.HeartbeatMS)
	c.testSignals.connected.Signal(url)
	return true, s.loop(ctx, c.heartbeatInterval(w), serverInterval(w))
}

func (c *Client) dial(ctx context.Context, url string) (*websocket.Conn, error) {
	d := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: handshakeTimeout,
		TLSClientConfig:  c.cfg.TLSConfig,
	}
	header := http.Header{}
	if c.cfg.Token != "" {
		header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	conn, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial: %w (http status %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn.SetReadLimit(protocol.MaxMessageBytes)
	return conn, nil
}

// heartbeatInterval is how often the client sends heartbeats: the
// override, or what the welcome asks for.
func (c *Client) heartbeatInterval(w *protocol.Welcome) time.Duration {
	if c.cfg.HeartbeatInterval > 0 {
		return c.cfg.HeartbeatInterval
	}
	return serverInterval(w)
}

// serverInterval is how often the server sends heartbeats: the interval
// of its welcome. Silence is judged by it, whatever the client's override.
func serverInterval(w *protocol.Welcome) time.Duration {
	if w.HeartbeatMS > 0 {
		return time.Duration(w.HeartbeatMS) * time.Millisecond
	}
	return DefaultHeartbeatInterval
}

// session is one live connection. Its loop goroutine is the only writer;
// its reader goroutine is the only reader.
type session struct {
	c    *Client
	conn *websocket.Conn

	in       chan protocol.Message // reader -> loop
	readErr  chan error            // the reader's last word
	quit     chan struct{}         // closed when the loop ends
	lastRecv atomic.Int64          // unix nanoseconds of the last frame from the server
	sent     map[runKey]time.Time  // results sent on this connection, not yet confirmed
	wg       sync.WaitGroup
}

// handshake sends hello and reads the answer: welcome, or an error.
func (s *session) handshake() (*protocol.Welcome, error) {
	h := s.c.hello()
	if err := s.write(protocol.Message{Type: protocol.TypeHello, Hello: &h}); err != nil {
		return nil, err
	}

	if err := s.conn.SetReadDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	m, err := s.read()
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if err := s.conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}

	switch {
	case m.Type == protocol.TypeWelcome && m.Welcome != nil:
		return m.Welcome, nil
	case m.Type == protocol.TypeError && m.Error != nil:
		return nil, &serverError{code: m.Error.Code, message: m.Error.Message}
	}
	return nil, fmt.Errorf("handshake: expected welcome, got %q", m.Type)
}

// loop serves the connection until it fails, the server goes silent, or
// ctx is cancelled (then it closes politely and returns nil). It sends a
// heartbeat every interval and takes the server as dead when nothing came
// for silentIntervals times the server's own interval.
func (s *session) loop(ctx context.Context, interval, serverInterval time.Duration) error {
	s.lastRecv.Store(time.Now().UnixNano())
	s.conn.SetPingHandler(func(data string) error {
		s.lastRecv.Store(time.Now().UnixNano())
		return s.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
	})
	s.conn.SetPongHandler(func(string) error {
		s.lastRecv.Store(time.Now().UnixNano())
		return nil
	})
	s.wg.Go(s.readLoop)
	defer func() {
		close(s.quit)
		s.conn.Close()
		s.wg.Wait()
	}()

	hb := time.NewTicker(interval)
	defer hb.Stop()
	drainCh := s.c.drainCh

	// Results first: the server learns how runs ended before new fires.
	if err := s.sendResults(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			if drainCh != nil && isClosed(drainCh) {
				// Stopping before the loop got to say it: say it now.
				_ = s.write(protocol.Message{Type: protocol.TypeDrain, Drain: &protocol.Drain{}})
			}
			s.closePolitely()
			return nil
		case err := <-s.readErr:
			return err
		case m := <-s.in:
			if err := s.handle(m); err != nil {
				return err
			}
		case <-hb.C:
			if err := s.beat(max(interval, serverInterval)); err != nil {
				return err
			}
		case l := <-s.c.logs:
			if err := s.write(protocol.Message{Type: protocol.TypeLog, Log: &l}); err != nil {
				return err
			}
		case a := <-s.c.acks:
			if err := s.write(protocol.Message{Type: protocol.TypeAck, Ack: &a}); err != nil {
				return err
			}
		case <-s.c.runner.notify:
			if err := s.sendResults(); err != nil {
				return err
			}
		case <-drainCh:
			drainCh = nil
			if err := s.write(protocol.Message{Type: protocol.TypeDrain, Drain: &protocol.Drain{}}); err != nil {
				return err
			}
		}
	}
}

// beat checks the server is alive, sends a heartbeat, and resends results
// left unconfirmed for long.
func (s *session) beat(serverInterval time.Duration) error {
	if time.Since(time.Unix(0, s.lastRecv.Load())) > silentIntervals*serverInterval {
		return errSilent
	}
	hb := protocol.Heartbeat{Running: s.c.runner.count()}
	if err := s.write(protocol.Message{Type: protocol.TypeHeartbeat, Heartbeat: &hb}); err != nil {
		return err
	}
	return s.sendResults()
}

func (s *session) handle(m protocol.Message) error {
	switch m.Type {
	case protocol.TypeFire:
		if m.Fire == nil {
			return errors.New("fire message without fire")
		}
		// TODO: a start (fork, exec and, with a DataDir, two fsynced
		// journal writes) runs on this loop; a burst of hundreds of fires
		// delays heartbeats and other writes by as many starts.
		ack := s.c.runner.start(*m.Fire)
		return s.write(protocol.Message{Type: protocol.TypeAck, Ack: &ack})
	case protocol.TypeKill:
		if m.Kill != nil && !s.c.runner.kill(m.Kill.ExecID, m.Kill.Reason) {
			s.c.log.Debug("kill of a run not running here", "exec_id", m.Kill.ExecID)
		}
	case protocol.TypeResultOK:
		if m.ResultOK != nil {
			k := runKey{m.ResultOK.ExecID, m.ResultOK.Attempt}
			delete(s.sent, k)
			s.c.runner.confirm(k)
		}
	case protocol.TypeError:
		if m.Error == nil {
			return errors.New("error message without error")
		}
		return &serverError{code: m.Error.Code, message: m.Error.Message}
	case protocol.TypeHeartbeat, protocol.TypeWelcome:
	default:
		s.c.log.Debug("unknown message type ignored", "type", m.Type)
	}
	return nil
}

// sendResults sends each unconfirmed result not sent on this connection,
// or sent more than resultResendInterval ago. Queued acks and log lines go
// first: a run's ack and lines precede its result.
func (s *session) sendResults() error {
	if err := s.flushAcks(); err != nil {
		return err
	}
	if err := s.flushLogs(); err != nil {
		return err
	}
	now := time.Now()
	live := map[runKey]bool{}
	for _, res := range s.c.runner.unconfirmed() {
		k := runKey{res.ExecID, res.Attempt}
		live[k] = true
		if t, ok := s.sent[k]; ok && now.Sub(t) < resultResendInterval {
			continue
		}
		if err := s.write(protocol.Message{Type: protocol.TypeResult, Result: &res}); err != nil {
			return err
		}
		s.sent[k] = now
	}
	for k := range s.sent {
		if !live[k] {
			delete(s.sent, k)
		}
	}
	return nil
}

// flushAcks sends the acks queued now (of fires read from Kafka).
func (s *session) flushAcks() error {
	for {
		select {
		case a := <-s.c.acks:
			if err := s.write(protocol.Message{Type: protocol.TypeAck, Ack: &a}); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// flushLogs sends the log messages queued now.
func (s *session) flushLogs() error {
	for {
		select {
		case l := <-s.c.logs:
			if err := s.write(protocol.Message{Type: protocol.TypeLog, Log: &l}); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (s *session) write(m protocol.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.Type, err)
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("write %s: %w", m.Type, err)
	}
	if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("write %s: %w", m.Type, err)
	}
	return nil
}

func (s *session) read() (protocol.Message, error) {
	_, b, err := s.conn.ReadMessage()
	if err != nil {
		return protocol.Message{}, fmt.Errorf("read: %w", err)
	}
	s.lastRecv.Store(time.Now().UnixNano())
	var m protocol.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return protocol.Message{}, fmt.Errorf("decode message: %w", err)
	}
	return m, nil
}

// readLoop hands every message to the loop until the connection fails or
// the loop ends.
func (s *session) readLoop() {
	for {
		m, err := s.read()
		if err != nil {
			s.readErr <- err
			return
		}
		select {
		case s.in <- m:
		case <-s.quit:
			return
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// closePolitely sends a close frame; the server may be gone already.
func (s *session) closePolitely() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "client stopping")
	_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}
