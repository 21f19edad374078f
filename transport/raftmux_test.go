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
		[]byte("HTTP/1.1 GET /\r\n\r\n"),                    // not swarm
		{'S', 'W', 'R', 'F', 99, 0, 0, 0, 0, 0, 0, 0, 0, 1}, // unknown version
		{'S', 'W', 'R', 'F', 1, 0, 0, 0, 0, 0, 0, 0, 0, 7},  // group not hosted
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

// pair returns a mux to accept on and one to dial from, with the given
// cluster keys (nil: none).
func pair(t *testing.T, acceptKey, dialKey []byte) (*transport.StreamLayer, *transport.StreamLayer, string) {
	t.Helper()
	server, client := newMux(t), newMux(t)
	if acceptKey != nil {
		server.SetKey(acceptKey)
	}
	if dialKey != nil {
		client.SetKey(dialKey)
	}
	in, err := server.Layer(3, server.Addr())
	require.NoError(t, err)
	out, err := client.Layer(3, client.Addr())
	require.NoError(t, err)
	return in, out, server.Addr().String()
}

func TestMuxClusterKeyAuthenticatesBothWays(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	in, out, addr := pair(t, key, key)
	conn, err := out.Dial(raft.ServerAddress(addr), time.Second)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("raft"))
	require.NoError(t, err)
	got, err := in.Accept()
	require.NoError(t, err)
	defer got.Close()
	buf := make([]byte, 4)
	_, err = io.ReadFull(got, buf)
	require.NoError(t, err)
	require.Equal(t, "raft", string(buf))
}

func TestMuxRefusesPeersWithoutTheKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	for _, tc := range []struct {
		name          string
		accept, dial  []byte
		dialerRefuses bool
	}{
		{"unauthenticated dialer", key, nil, false},
		{"wrong key", key, other, true},
		{"keyed dialer, keyless server", nil, key, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, addr := pair(t, tc.accept, tc.dial)
			conn, err := out.Dial(raft.ServerAddress(addr), time.Second)
			if tc.dialerRefuses {
				require.Error(t, err, "the dialer must not trust a server it cannot authenticate")
				return
			}
			require.NoError(t, err) // the header went out; the server closes
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			var ne net.Error
			require.Error(t, err)
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closes an unauthenticated peer")
		})
	}
}
