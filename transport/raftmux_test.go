package transport_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/transport"
)

func newMux(t *testing.T) *transport.Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m := transport.NewMux(ln, nil)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMuxRoutesEachConnectionToItsGroup(t *testing.T) {
	m := newMux(t)
	a, err := m.Layer(1, m.Addr())
	require.NoError(t, err)
	b, err := m.Layer(2, m.Addr())
	require.NoError(t, err)

	// Dial each group and send a different payload; each layer must accept
	// exactly its own connection.
	for _, tc := range []struct {
		from *transport.StreamLayer
		msg  string
	}{{a, "to-one"}, {b, "to-two"}} {
		conn, err := tc.from.Dial(raft.ServerAddress("127.0.0.1:"+portOf(m)), time.Second)
		require.NoError(t, err)
		_, err = conn.Write([]byte(tc.msg))
		require.NoError(t, err)
		defer conn.Close()
	}
	for _, tc := range []struct {
		layer *transport.StreamLayer
		want  string
	}{{a, "to-one"}, {b, "to-two"}} {
		conn, err := tc.layer.Accept()
		require.NoError(t, err)
		buf := make([]byte, len(tc.want))
		_, err = io.ReadFull(conn, buf)
		require.NoError(t, err)
		require.Equal(t, tc.want, string(buf))
		conn.Close()
	}
}

func portOf(m *transport.Mux) string {
	_, port, _ := net.SplitHostPort(m.Addr().String())
	return port
}

func TestMuxRefusesBadHeadersAndUnknownGroups(t *testing.T) {
	m := newMux(t)
	_, err := m.Layer(1, m.Addr())
	require.NoError(t, err)

	for _, header := range [][]byte{
		[]byte("HTTP/1.1 GET /\r\n\r\n"),                 // not swarm
		{'S', 'W', 'R', 'F', 99, 0, 0, 0, 0, 0, 0, 0, 1}, // unknown version
		{'S', 'W', 'R', 'F', 1, 0, 0, 0, 0, 0, 0, 0, 7},  // group not hosted
	} {
		conn, err := net.Dial("tcp", m.Addr().String())
		require.NoError(t, err)
		_, err = conn.Write(header)
		require.NoError(t, err)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		require.Error(t, err)
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the mux closes a refused connection (EOF or reset), it does not leave it open")
		conn.Close()
	}
}

func TestClosedLayerStopsAcceptingAndDialing(t *testing.T) {
	m := newMux(t)
	l, err := m.Layer(5, m.Addr())
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = l.Accept()
	require.ErrorIs(t, err, transport.ErrMuxClosed)
	_, err = l.Dial(raft.ServerAddress(m.Addr().String()), time.Second)
	require.ErrorIs(t, err, transport.ErrMuxClosed)
}
