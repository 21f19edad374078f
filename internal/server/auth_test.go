package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/server"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/shard"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func authOn(logs *syncBuffer) func(*server.Config) {
	return func(c *server.Config) {
		c.Auth = true
		c.ClusterKey = []byte("a cluster secret of some length")
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// call makes a request with a bearer token ("" for none) and returns the
// status.
func call(t *testing.T, method, url, token string, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testHTTP.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func mintToken(t *testing.T, base, admin string, req api.TokenRequest) string {
	t.Helper()
	c, err := api.NewClient([]string{base}, api.WithToken(admin))
	require.NoError(t, err)
	tok, err := c.CreateToken(context.Background(), req)
	require.NoError(t, err)
	require.NotEmpty(t, tok.Secret)
	return tok.Secret
}

func TestRolesAreAllowedAndRefusedWhereTheyShould(t *testing.T) {
	logs := &syncBuffer{}
	dir := t.TempDir()
	s := startServer(t, dir, authOn(logs))
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	raw, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	require.NoError(t, err)
	admin := strings.TrimSpace(string(raw))
	operator := mintToken(t, base, admin, api.TokenRequest{Role: api.RoleOperator, Name: "ci"})
	reader := mintToken(t, base, admin, api.TokenRequest{Role: api.RoleReader})
	worker := mintToken(t, base, admin, api.TokenRequest{Role: api.RoleClient, Groups: []string{"batch"}})

	job := `{"group":"g","name":"%s","trigger":{"kind":"simple","interval":"1h"},"executor":{"command":"true"}}`
	cases := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"no token", "GET", "/v1/jobs", "", "", http.StatusUnauthorized},
		{"bad token", "GET", "/v1/jobs", "swt_0000000000000000_bad", "", http.StatusUnauthorized},
		{"health is open", "GET", "/healthz", "", "", http.StatusOK},
		{"dashboard is open", "GET", "/ui/", "", "", http.StatusOK},
		{"reader reads", "GET", "/v1/jobs", reader, "", http.StatusOK},
		{"reader previews", "POST", "/v1/triggers:preview", reader, `{"trigger":{"kind":"cron","cron":"0 * * * * ?"}}`, http.StatusOK},
		{"reader may not write", "POST", "/v1/jobs", reader, strings.Replace(job, "%s", "r", 1), http.StatusForbidden},
		{"operator writes jobs", "POST", "/v1/jobs", operator, strings.Replace(job, "%s", "o", 1), http.StatusCreated},
		{"operator may not mint tokens", "POST", "/v1/tokens", operator, `{"role":"admin"}`, http.StatusForbidden},
		{"operator may not list tokens", "GET", "/v1/tokens", operator, "", http.StatusForbidden},
		{"client may not read jobs", "GET", "/v1/jobs", worker, "", http.StatusForbidden},
		{"client may not create jobs", "POST", "/v1/jobs", worker, strings.Replace(job, "%s", "c", 1), http.StatusForbidden},
		{"admin lists tokens", "GET", "/v1/tokens", admin, "", http.StatusOK},
		{"admin writes jobs", "POST", "/v1/jobs", admin, strings.Replace(job, "%s", "a", 1), http.StatusCreated},
		{"reader may not profile", "GET", "/debug/pprof/goroutine", reader, "", http.StatusForbidden},
		{"operator may not profile", "GET", "/debug/pprof/goroutine", operator, "", http.StatusForbidden},
		{"admin profiles", "GET", "/debug/pprof/goroutine", admin, "", http.StatusOK},
		{"internal endpoint without signature", "POST", "/v1/internal/report", admin, `{}`, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, call(t, tc.method, base+tc.path, tc.token, tc.body))
		})
	}

	// Workers: a client token connects only as a worker of its groups.
	require.NoError(t, connectWorker(s.HTTPAddr(), worker, "batch"))
	require.ErrorContains(t, connectWorker(s.HTTPAddr(), worker, "other"), "forbidden")
	require.ErrorContains(t, connectWorker(s.HTTPAddr(), reader, "batch"), "forbidden")
	require.Error(t, connectWorker(s.HTTPAddr(), "", "batch"))

	// A revoked token stops working.
	c, err := api.NewClient([]string{base}, api.WithToken(admin))
	require.NoError(t, err)
	list, err := c.ListTokens(context.Background())
	require.NoError(t, err)
	for _, tok := range list.Tokens {
		require.Empty(t, tok.Secret, "a listed token shows no secret")
		if tok.Role == api.RoleReader {
			require.NoError(t, c.RevokeToken(context.Background(), tok.ID))
		}
	}
	require.Equal(t, http.StatusUnauthorized, call(t, "GET", base+"/v1/jobs", reader, ""))

	// Secrets never reach the logs.
	for _, secret := range []string{admin, operator, worker, "a cluster secret of some length"} {
		require.NotContains(t, logs.String(), secret[len(secret)-20:])
	}
}

// connectWorker registers a worker with a token and returns the server's
// refusal, if any.
func connectWorker(addr, token, group string) error {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/connect", h)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.WriteJSON(&protocol.Message{Type: protocol.TypeHello, Hello: &protocol.Hello{Protocol: protocol.Version, ID: "w-" + group, Group: group, Capacity: 1}}); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m protocol.Message
	if err := conn.ReadJSON(&m); err != nil {
		return err
	}
	if m.Type == protocol.TypeError {
		return m.Error
	}
	return nil
}

// TestServerWithoutTheClusterKeyCannotJoin: the join is an internal call,
// signed with the cluster key; a server without it (or with another) is
// refused, and never joins the Raft groups.
func TestServerWithoutTheClusterKeyCannotJoin(t *testing.T) {
	key := func(k string) func(*server.Config) {
		return func(c *server.Config) { c.ClusterKey = []byte(k) }
	}
	s := startServer(t, t.TempDir(), key("the right cluster key!"))
	defer s.Stop()

	for _, k := range []string{"", "another cluster key!!"} {
		stranger, err := server.New(server.Config{
			DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
			Join: []string{s.HTTPAddr()}, ClusterKey: []byte(k),
			ShardTimers: shard.FastTimers, MetaTimers: shard.FastTimers,
		})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = stranger.Start(ctx)
		cancel()
		require.Error(t, err, "a server with key %q joined", k)
		stranger.Stop()
	}
	var c api.Cluster
	do(t, "GET", "http://"+s.HTTPAddr()+"/v1/cluster", nil, &c)
	require.Len(t, c.Servers, 1)
}
