package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Pool defaults.
const (
	handshakeTimeout = 10 * time.Second
	writeTimeout     = 10 * time.Second
	minBackoff       = 100 * time.Millisecond
	maxBackoff       = 5 * time.Second
	dialParallel     = 32 // handshakes at once while connecting the pool
	defaultHeartbeat = 5 * time.Second
)

// poolConfig configures the simulated workers.
type poolConfig struct {
	Servers  []string // HTTP addresses; worker i dials server i mod n first
	Workers  int
	Group    string
	Capacity int
	IDPrefix string
	Recorder *Recorder
	Logger   *slog.Logger
}

// Pool is a set of simulated workers, each one WebSocket connection
// speaking the worker protocol: it acknowledges every fire at once,
// reports it succeeded, resends unconfirmed results after a reconnect,
// heartbeats, and reconnects with backoff like the Go worker. It runs
// nothing. Each worker has a reader goroutine, which never waits for the
// network to take a write, and a writer goroutine; one more queues the
// heartbeats. Stop ends them.
type Pool struct {
	cfg    poolConfig
	dialer websocket.Dialer
	sem    chan struct{}

	workers []*worker
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	heartbeat atomic.Int64 // ns, from the first welcome

	connected atomic.Int64
	connects  atomic.Int64
	drops     atomic.Int64
	dialFails atomic.Int64
	fires     atomic.Int64
	badFires  atomic.Int64
	maxQueue  atomic.Int64 // most bytes a worker had queued to write
}

// worker is one simulated worker.
type worker struct {
	pool  *Pool
	id    string
	first int // index of the server it dials first
	hello []byte

	mu      sync.Mutex // guards conn, out, outLens and pending
	conn    *websocket.Conn
	out     []byte                // queued messages, back to back
	outLens []int                 // their lengths
	pending map[pendingKey][]byte // results not yet confirmed
	wake    chan struct{}         // the writer has work

	in       []byte // read buffer, reader only
	scratch  []byte // encode buffer, reader only
	serverID []byte // the server of the current connection, reader only
}

type pendingKey struct {
	id      string
	attempt int
}

// startPool connects cfg.Workers workers and returns once all are
// connected, or fails after timeout.
func startPool(ctx context.Context, cfg poolConfig, timeout time.Duration) (*Pool, error) {
	if len(cfg.Servers) == 0 || cfg.Workers <= 0 {
		return nil, errors.New("start workers: no servers or no workers")
	}
	p := &Pool{
		cfg:    cfg,
		dialer: websocket.Dialer{HandshakeTimeout: handshakeTimeout, ReadBufferSize: 4096, WriteBufferSize: 4096},
		sem:    make(chan struct{}, dialParallel),
	}
	p.heartbeat.Store(int64(defaultHeartbeat))
	for i := range cfg.Workers {
		w := &worker{pool: p, id: fmt.Sprintf("%s%05d", cfg.IDPrefix, i), first: i % len(cfg.Servers),
			pending: map[pendingKey][]byte{}, wake: make(chan struct{}, 1), in: make([]byte, 0, 4096)}
		hello, err := helloMessage(w.id, cfg.Group, cfg.Capacity)
		if err != nil {
			return nil, fmt.Errorf("start workers: %w", err)
		}
		w.hello = hello
		p.workers = append(p.workers, w)
	}

	ctx, p.cancel = context.WithCancel(ctx)
	for _, w := range p.workers {
		p.wg.Add(2)
		go w.run(ctx)
		go w.writer(ctx)
	}
	p.wg.Add(1)
	go p.heartbeats(ctx)
	if err := p.waitConnected(ctx, timeout); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Pool) waitConnected(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.connected.Load() < int64(len(p.workers)) {
		if time.Now().After(deadline) {
			return fmt.Errorf("start workers: %d of %d connected after %s", p.connected.Load(), len(p.workers), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Stop disconnects every worker and waits for their goroutines.
func (p *Pool) Stop() {
	p.cancel()
	for _, w := range p.workers {
		w.mu.Lock()
		if w.conn != nil {
			w.conn.Close()
		}
		w.mu.Unlock()
	}
	p.wg.Wait()
}

// PoolStats are the pool's counters.
type PoolStats struct {
	Workers   int   `json:"workers"`
	Connected int64 `json:"connected"`
	Connects  int64 `json:"connects"`
	Drops     int64 `json:"drops"`
	DialFails int64 `json:"dial_failures"`
	Fires     int64 `json:"fires"`
	BadFires  int64 `json:"unreadable_fires"`
	MaxQueue  int64 `json:"max_write_queue_bytes"` // a server that stops reading makes this grow
	Pending   int   `json:"unconfirmed_results"`   // results without a result_ok at the end
}

// Stats reads the counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Workers: len(p.workers), Connected: p.connected.Load(), Connects: p.connects.Load(),
		Drops: p.drops.Load(), DialFails: p.dialFails.Load(), Fires: p.fires.Load(), BadFires: p.badFires.Load(),
		MaxQueue: p.maxQueue.Load(), Pending: p.pendingResults()}
}

// heartbeats sends every connected worker's heartbeat each interval.
func (p *Pool) heartbeats(ctx context.Context) {
	defer p.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(p.heartbeat.Load())):
		}
		for _, w := range p.workers {
			w.mu.Lock()
			if w.conn != nil {
				w.enqueueLocked(heartbeatMessage)
			}
			w.mu.Unlock()
			w.signal()
		}
	}
}

// run connects, serves and reconnects until ctx ends.
func (w *worker) run(ctx context.Context) {
	defer w.pool.wg.Done()
	n := len(w.pool.cfg.Servers)
	srv := w.first
	backoff := minBackoff
	for ctx.Err() == nil {
		conn, err := w.connect(ctx, w.pool.cfg.Servers[srv])
		if err != nil {
			w.pool.dialFails.Add(1)
			srv = (srv + 1) % n
			sleepCtx(ctx, backoff/2+rand.N(backoff/2+1))
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		w.serve(conn)
		w.pool.connected.Add(-1)
		w.pool.drops.Add(1)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// connect dials, says hello, waits for welcome and resends unconfirmed
// results.
func (w *worker) connect(ctx context.Context, server string) (*websocket.Conn, error) {
	select {
	case w.pool.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-w.pool.sem }()

	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn, _, err := w.pool.dialer.DialContext(hctx, "ws://"+server+"/v1/connect", nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", server, err)
	}
	conn.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	if err := conn.WriteMessage(websocket.TextMessage, w.hello); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hello %s: %w", server, err)
	}
	if err := w.welcome(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hello %s: %w", server, err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if ctx.Err() != nil {
		conn.Close()
		return nil, ctx.Err()
	}
	w.conn = conn
	w.pool.connected.Add(1)
	w.pool.connects.Add(1)
	// What was queued for the old connection is stale (acks are answered
	// again when fires are resent); unconfirmed results go again.
	w.out, w.outLens = w.out[:0], w.outLens[:0]
	for _, msg := range w.pending {
		w.enqueueLocked(msg)
	}
	w.signal()
	return conn, nil
}

// welcome reads the server's answer to hello.
func (w *worker) welcome(conn *websocket.Conn) error {
	conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	msg, err := w.read(conn)
	if err != nil {
		return err
	}
	if !bytes.Equal(messageType(msg), []byte("welcome")) {
		return fmt.Errorf("refused: %s", msg)
	}
	if ms, err := intField(msg, keyHeartbeatMS); err == nil && ms > 0 {
		w.pool.heartbeat.Store(int64(time.Duration(ms) * time.Millisecond))
	}
	id, _ := stringField(msg, keyServerID)
	w.serverID = append(w.serverID[:0], id...)
	return nil
}

// read reads one message into the worker's buffer.
func (w *worker) read(conn *websocket.Conn) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	buf := w.in[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			w.in = buf
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// serve reads until the connection fails.
func (w *worker) serve(conn *websocket.Conn) {
	var v fireView
	for {
		conn.SetReadDeadline(time.Now().Add(3 * time.Duration(w.pool.heartbeat.Load())))
		msg, err := w.read(conn)
		if err != nil {
			w.mu.Lock()
			w.conn = nil
			w.mu.Unlock()
			conn.Close()
			return
		}
		switch string(messageType(msg)) {
		case "fire":
			w.fire(msg, &v)
		case "result_ok":
			w.resultOK(msg)
		case "error":
			w.pool.cfg.Logger.Warn("server refused a worker", "worker", w.id, "message", string(msg))
		}
	}
}

// fire records a fire and answers it: ack, then result, unless it is a
// repeat of an (exec id, attempt) already answered.
func (w *worker) fire(msg []byte, v *fireView) {
	recv := time.Now()
	if err := parseFire(msg, v); err != nil {
		if err := parseFireSlow(msg, v); err != nil {
			w.pool.badFires.Add(1)
			return
		}
	}
	w.pool.fires.Add(1)
	v.local = bytes.Equal(v.leader, w.serverID)
	out := w.pool.cfg.Recorder.Record(v, recv.UnixNano())

	w.mu.Lock()
	w.scratch = appendAck(w.scratch[:0], v.execID, v.attempt, recv)
	w.enqueueLocked(w.scratch)
	if out != outDuplicate {
		w.scratch = appendResult(w.scratch[:0], v.execID, v.attempt, recv)
		w.pending[pendingKey{id: string(v.execID), attempt: v.attempt}] = bytes.Clone(w.scratch)
		w.enqueueLocked(w.scratch)
	}
	w.mu.Unlock()
	w.signal()
}

// resultOK forgets a confirmed result.
func (w *worker) resultOK(msg []byte) {
	id, err := stringField(msg, keyExecID)
	if err != nil {
		return
	}
	att, err := intField(msg, keyAttempt)
	if err != nil {
		return
	}
	w.mu.Lock()
	delete(w.pending, pendingKey{id: string(id), attempt: int(att)})
	w.mu.Unlock()
}

// enqueueLocked queues a message for the writer; w.mu is held.
func (w *worker) enqueueLocked(msg []byte) {
	w.out = append(w.out, msg...)
	w.outLens = append(w.outLens, len(msg))
	if n := int64(len(w.out)); n > w.pool.maxQueue.Load() {
		w.pool.maxQueue.Store(n) // racy maximum; good enough for a gauge
	}
}

// signal wakes the writer.
func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// writer writes what the reader and the heartbeat queue, so that a server
// slow to read never delays the reading of fires. A failed write closes
// the connection, which ends the reader and leads to a reconnect.
func (w *worker) writer(ctx context.Context) {
	defer w.pool.wg.Done()
	var buf []byte
	var lens []int
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		w.mu.Lock()
		conn := w.conn
		buf, w.out = w.out, buf[:0]
		lens, w.outLens = w.outLens, lens[:0]
		w.mu.Unlock()
		if conn == nil {
			continue // disconnected: dropped; results go again on connect
		}
		off := 0
		for _, n := range lens {
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, buf[off:off+n]); err != nil {
				conn.Close()
				break
			}
			off += n
		}
	}
}

// pendingResults counts results not yet confirmed, over all workers.
func (p *Pool) pendingResults() int {
	n := 0
	for _, w := range p.workers {
		w.mu.Lock()
		n += len(w.pending)
		w.mu.Unlock()
	}
	return n
}
