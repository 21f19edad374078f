package transport

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Every Raft connection starts with a fixed header naming the group it
// belongs to, so all groups of a server share one TCP port:
//
//	magic "SWRF" | version uint8 | flags uint8 | group uint64 (big-endian)
//
// With a cluster key, flag muxAuth is set and a mutual challenge follows
// (muxHandshake): neither side sends Raft traffic to a peer that does not
// prove it holds the key.
const (
	muxMagic      = "SWRF"
	muxVersion    = 1
	muxHeaderSize = 4 + 1 + 1 + 8
	muxAuth       = 1 << 0

	// muxHeaderTimeout bounds how long an accepted connection may take to
	// send its header, so a silent peer cannot pin a goroutine.
	muxHeaderTimeout = 5 * time.Second

	// muxAcceptBacklog is how many accepted connections may wait for a
	// group's transport to take them.
	muxAcceptBacklog = 64
)

// ErrMuxClosed is returned by Accept and Dial after the mux or the group's
// layer is closed.
var ErrMuxClosed = errors.New("raft mux closed")

// ErrUnknownGroup is the reason a connection for a group this server does
// not host is refused.
var ErrUnknownGroup = errors.New("unknown raft group")

// Mux accepts Raft connections on one listener and hands each to the
// StreamLayer of the group its header names. It owns one accept goroutine
// and one short-lived goroutine per connection while it reads the header.
type Mux struct {
	ln     net.Listener
	logger *slog.Logger

	// DialFunc dials a peer; tests replace it to inject faults. Defaults to
	// net.Dialer.
	dial func(addr string, timeout time.Duration) (net.Conn, error)

	mu     sync.Mutex
	groups map[uint64]*StreamLayer
	closed bool
	key    []byte // cluster key; nil: no authentication

	wg sync.WaitGroup
}

// NewMux starts accepting on ln. Close stops it.
func NewMux(ln net.Listener, logger *slog.Logger) *Mux {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Mux{
		ln:     ln,
		logger: logger,
		groups: make(map[uint64]*StreamLayer),
		dial: func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, timeout)
		},
	}
	m.wg.Add(1)
	go m.acceptLoop()
	return m
}

// Addr is the listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// SetDialer replaces how connections to peers are made (fault injection in
// tests). Call it before any group dials.
func (m *Mux) SetDialer(dial func(addr string, timeout time.Duration) (net.Conn, error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dial = dial
}

// SetKey requires every connection, both ways, to prove it holds key.
// Call it before any group dials or accepts.
func (m *Mux) SetKey(key []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.key = append([]byte(nil), key...)
}

func (m *Mux) clusterKey() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.key
}

// Layer returns the StreamLayer for group, creating it on first use. The
// layer's Addr is advertise (the address peers dial).
func (m *Mux) Layer(group uint64, advertise net.Addr) (*StreamLayer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrMuxClosed
	}
	if l, ok := m.groups[group]; ok {
		return l, nil
	}
	l := &StreamLayer{
		mux:       m,
		group:     group,
		advertise: advertise,
		connCh:    make(chan net.Conn, muxAcceptBacklog),
		closeCh:   make(chan struct{}),
		conns:     map[*trackedConn]struct{}{},
	}
	m.groups[group] = l
	return l, nil
}

// Close stops accepting, closes every layer and waits for the mux's
// goroutines to exit.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	layers := make([]*StreamLayer, 0, len(m.groups))
	for _, l := range m.groups {
		layers = append(layers, l)
	}
	m.mu.Unlock()

	err := m.ln.Close()
	for _, l := range layers {
		l.Close()
	}
	m.wg.Wait()
	return err
}

func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if m.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.logger.Warn("raft mux accept failed", "error", err)
			return
		}
		m.wg.Add(1)
		go m.route(conn)
	}
}

func (m *Mux) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// route reads the header of conn and hands conn to its group's layer.
func (m *Mux) route(conn net.Conn) {
	defer m.wg.Done()

	group, err := m.accept(conn)
	if err != nil {
		m.logger.Warn("raft mux refused connection", "remote", conn.RemoteAddr().String(), "error", err)
		conn.Close()
		return
	}

	m.mu.Lock()
	l, ok := m.groups[group]
	m.mu.Unlock()
	if !ok {
		m.logger.Debug("raft mux refused connection", "remote", conn.RemoteAddr().String(), "group", group, "error", ErrUnknownGroup)
		conn.Close()
		return
	}
	l.deliver(conn)
}

// accept reads a connection's header and, with a cluster key, runs the
// challenge; it returns the group the connection is for.
func (m *Mux) accept(conn net.Conn) (uint64, error) {
	if err := conn.SetDeadline(time.Now().Add(muxHeaderTimeout)); err != nil {
		return 0, fmt.Errorf("set header deadline: %w", err)
	}
	group, flags, err := readMuxHeader(conn)
	if err != nil {
		return 0, err
	}
	key := m.clusterKey()
	switch {
	case key == nil && flags&muxAuth != 0:
		return 0, errors.New("peer authenticates with a cluster key, but this server has none: set the same --cluster-key on every server")
	case key != nil && flags&muxAuth == 0:
		return 0, errors.New("unauthenticated peer: it has no cluster key")
	case key != nil:
		if err := muxHandshakeAccept(conn, key, group); err != nil {
			return 0, err
		}
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return 0, fmt.Errorf("clear header deadline: %w", err)
	}
	return group, nil
}

func readMuxHeader(conn net.Conn) (group uint64, flags byte, err error) {
	var hdr [muxHeaderSize]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return 0, 0, fmt.Errorf("read header: %w", err)
	}
	if string(hdr[:4]) != muxMagic {
		return 0, 0, errors.New("read header: bad magic (not a swarm raft peer)")
	}
	if v := hdr[4]; v != muxVersion {
		return 0, 0, fmt.Errorf("read header: peer speaks raft mux version %d, this server %d: run the same swarm version on every server", v, muxVersion)
	}
	return binary.BigEndian.Uint64(hdr[6:]), hdr[5], nil
}

func writeMuxHeader(w io.Writer, group uint64, flags byte) error {
	var hdr [muxHeaderSize]byte
	copy(hdr[:4], muxMagic)
	hdr[4] = muxVersion
	hdr[5] = flags
	binary.BigEndian.PutUint64(hdr[6:], group)
	_, err := w.Write(hdr[:])
	return err
}

// The challenge: the dialer sends a nonce; the acceptor answers its own
// nonce and a MAC over both; the dialer checks it and answers its MAC.
// Each MAC binds the role and the group, so none can be replayed or
// reflected.
const muxNonceSize = 16

func muxMAC(key []byte, role string, group uint64, a, b []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(role))
	binary.Write(h, binary.BigEndian, group)
	h.Write(a)
	h.Write(b)
	return h.Sum(nil)
}

func muxHandshakeDial(conn net.Conn, key []byte, group uint64) error {
	nonceA := make([]byte, muxNonceSize)
	if _, err := rand.Read(nonceA); err != nil {
		return err
	}
	if _, err := conn.Write(nonceA); err != nil {
		return fmt.Errorf("send challenge: %w", err)
	}
	reply := make([]byte, muxNonceSize+sha256.Size)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return fmt.Errorf("read challenge answer (is --cluster-key the same on both servers?): %w", err)
	}
	nonceB, macS := reply[:muxNonceSize], reply[muxNonceSize:]
	if !hmac.Equal(macS, muxMAC(key, "swarm-mux-server", group, nonceA, nonceB)) {
		return errors.New("peer does not hold the cluster key")
	}
	_, err := conn.Write(muxMAC(key, "swarm-mux-client", group, nonceA, nonceB))
	return err
}

func muxHandshakeAccept(conn net.Conn, key []byte, group uint64) error {
	nonceA := make([]byte, muxNonceSize)
	if _, err := io.ReadFull(conn, nonceA); err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	nonceB := make([]byte, muxNonceSize)
	if _, err := rand.Read(nonceB); err != nil {
		return err
	}
	if _, err := conn.Write(append(nonceB, muxMAC(key, "swarm-mux-server", group, nonceA, nonceB)...)); err != nil {
		return fmt.Errorf("answer challenge: %w", err)
	}
	macC := make([]byte, sha256.Size)
	if _, err := io.ReadFull(conn, macC); err != nil {
		return fmt.Errorf("read peer proof: %w", err)
	}
	if !hmac.Equal(macC, muxMAC(key, "swarm-mux-client", group, nonceA, nonceB)) {
		return errors.New("peer does not hold the cluster key")
	}
	return nil
}

// StreamLayer is one Raft group's view of the mux: a raft.StreamLayer whose
// Accept yields the connections whose header named the group, and whose
// Dial writes that header.
type StreamLayer struct {
	mux       *Mux
	group     uint64
	advertise net.Addr

	connCh    chan net.Conn
	closeCh   chan struct{}
	closeOnce sync.Once

	// conns holds every connection the layer accepted or dialed: raft's
	// transport does not close them when it closes, and each has a reader
	// goroutine that only a closed connection ends.
	connMu sync.Mutex
	conns  map[*trackedConn]struct{}
}

// trackedConn removes itself from its layer's set when closed.
type trackedConn struct {
	net.Conn
	layer *StreamLayer
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.layer.connMu.Lock()
		delete(c.layer.conns, c)
		c.layer.connMu.Unlock()
	})
	return c.Conn.Close()
}

// track registers conn, or closes it when the layer is closed.
func (l *StreamLayer) track(conn net.Conn) (net.Conn, error) {
	tc := &trackedConn{Conn: conn, layer: l}
	l.connMu.Lock()
	defer l.connMu.Unlock()
	select {
	case <-l.closeCh:
		conn.Close()
		return nil, ErrMuxClosed
	default:
	}
	l.conns[tc] = struct{}{}
	return tc, nil
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

func (l *StreamLayer) deliver(conn net.Conn) {
	select {
	case l.connCh <- conn:
	case <-l.closeCh:
		conn.Close()
	}
}

// Accept waits for the next connection of this group.
func (l *StreamLayer) Accept() (net.Conn, error) {
	select {
	case conn := <-l.connCh:
		return l.track(conn)
	case <-l.closeCh:
		return nil, ErrMuxClosed
	}
}

// Close stops this layer and closes its connections; the mux refuses
// further connections for it.
func (l *StreamLayer) Close() error {
	l.closeOnce.Do(func() {
		l.connMu.Lock()
		close(l.closeCh)
		conns := l.conns
		l.conns = map[*trackedConn]struct{}{}
		l.connMu.Unlock()
		for c := range conns {
			c.Conn.Close()
		}

		l.mux.mu.Lock()
		if l.mux.groups[l.group] == l {
			delete(l.mux.groups, l.group)
		}
		l.mux.mu.Unlock()
	})
	return nil
}

// Addr is the address peers dial to reach this server.
func (l *StreamLayer) Addr() net.Addr { return l.advertise }

// Dial connects to a peer's mux and names this group.
func (l *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	select {
	case <-l.closeCh:
		return nil, ErrMuxClosed
	default:
	}

	l.mux.mu.Lock()
	dial := l.mux.dial
	l.mux.mu.Unlock()

	conn, err := dial(string(address), timeout)
	if err != nil {
		return nil, err
	}
	key := l.mux.clusterKey()
	var flags byte
	if key != nil {
		flags = muxAuth
	}
	if err := writeMuxHeader(conn, l.group, flags); err != nil {
		conn.Close()
		return nil, fmt.Errorf("write raft mux header: %w", err)
	}
	if key != nil {
		conn.SetDeadline(time.Now().Add(timeout + muxHeaderTimeout))
		if err := muxHandshakeDial(conn, key, l.group); err != nil {
			conn.Close()
			return nil, fmt.Errorf("authenticate to raft peer %s: %w", address, err)
		}
		conn.SetDeadline(time.Time{})
	}
	return l.track(conn)
}
