package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/shard"
)

// router sends each request to the server that must answer it: a job's
// request to the leader of its shard, an execution's to the leader of the
// shard its id names, a cluster-wide write to the meta leader; everything
// else is answered here. Clients never see a redirect.
type router struct {
	s     *Server
	next  http.Handler
	proxy *httputil.ReverseProxy
}

func newRouter(s *Server, next http.Handler) *router {
	rt := &router{s: s, next: next}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := pr.In.Context().Value(targetKey{}).(string)
			pr.Out.URL.Scheme, pr.Out.URL.Host = s.peers.scheme(), target
			pr.Out.Host = target
			hops, _ := strconv.Atoi(pr.In.Header.Get(hopsHeader))
			pr.Out.Header.Set(hopsHeader, strconv.Itoa(hops+1))
			pr.Out.Header.Set(epochHeader, strconv.FormatUint(s.meta.State().Epoch, 10))
		},
		Transport:     s.peers.client.Transport,
		FlushInterval: -1, // stream followed logs as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeErr(w, api.Unavailable("forward to %s: %v", r.Host, err))
		},
	}
	return rt
}

type targetKey struct{}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := rt.s.authorize(r); err != nil {
		writeErr(w, err)
		return
	}
	hops, _ := strconv.Atoi(r.Header.Get(hopsHeader))
	rt.awaitEpoch(r)
	if hops >= maxHops {
		rt.next.ServeHTTP(w, r)
		return
	}
	body, err := bufferBody(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		server := rt.targetOf(r)
		if server != "" && server != rt.s.id.NodeID {
			rt.forward(w, r, server)
			return
		}
		if !retriable(r) {
			rt.next.ServeHTTP(w, r)
			return
		}
		// Answer here, but if leadership moved since the choice, route
		// again: nothing was proposed. Retries stop after leaderWait, so
		// a shard whose leadership keeps failing (its disk is full) gets
		// a "retry" answer in seconds, not a request held past the
		// caller's timeout.
		rec := newBufferedResponse()
		rt.next.ServeHTTP(rec, r)
		if !rec.notLeader() || attempt == 3 || time.Since(start) >= leaderWait {
			rec.flushTo(w)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
}

func (rt *router) forward(w http.ResponseWriter, r *http.Request, server string) {
	addr, err := rt.s.peers.httpAddr(server)
	if err != nil {
		writeErr(w, err)
		return
	}
	rt.proxy.ServeHTTP(w, r.WithContext(contextWith(r.Context(), addr)))
}

// retriable requests are answered from a buffer, so a "not the leader
// any more" answer can be retried; streams are not.
func retriable(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/v1/") && !strings.HasSuffix(p, "/logs") && p != "/v1/connect" && p != "/v1/snapshot"
}

// bufferBody reads the request body (bounded) so it can be sent again.
func bufferBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || !retriable(r) {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, api.MaxBatchBytes+1))
	r.Body.Close()
	if err != nil {
		return nil, api.Invalid("", "read body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// bufferedResponse records a response to decide before sending it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: http.Header{}, status: http.StatusOK}
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(code int)        { b.status = code }

func (b *bufferedResponse) notLeader() bool {
	return b.status == http.StatusServiceUnavailable && strings.Contains(b.body.String(), notLeaderHere)
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}

// awaitEpoch lets this server's meta replica catch up with a forwarding
// server's newer shard map before routing on it.
func (rt *router) awaitEpoch(r *http.Request) {
	want, err := strconv.ParseUint(r.Header.Get(epochHeader), 10, 64)
	if err != nil {
		return
	}
	deadline := time.Now().Add(2 * time.Second)
	for rt.s.meta.State().Epoch < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// targetOf names the server that must answer r, or "" for this one.
func (rt *router) targetOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/jobs/"):
		parts := strings.SplitN(strings.TrimPrefix(p, "/v1/jobs/"), "/", 3)
		if len(parts) < 2 {
			return ""
		}
		return rt.leaderOfKey(parts[0] + "/" + parts[1])
	case p == "/v1/jobs" && r.Method == http.MethodPost:
		return rt.leaderOfKey(peekKey(r))
	case strings.HasPrefix(p, "/v1/executions/"):
		id, _, _ := strings.Cut(strings.TrimPrefix(p, "/v1/executions/"), "/")
		if n, ok := shardOfExec(id); ok {
			return rt.leaderOfShard(n)
		}
	case strings.HasPrefix(p, "/v1/calendars") && r.Method != http.MethodGet,
		strings.HasPrefix(p, "/v1/tokens") && r.Method != http.MethodGet,
		p == "/v1/snapshot" && r.Method == http.MethodPost,
		strings.HasPrefix(p, "/v1/groups/"),
		p == "/v1/internal/join", p == "/v1/internal/leave", p == "/v1/internal/report":
		return rt.s.metaGroup.LeaderID()
	}
	return ""
}

func (rt *router) leaderOfKey(key string) string {
	n, ok := rt.s.meta.State().ShardOfSlot(shard.Slot(key))
	if !ok {
		return ""
	}
	return rt.leaderOfShard(n)
}

// leaderOfShard waits briefly for a shard without a known leader (an
// election under way) to have one.
func (rt *router) leaderOfShard(n int) string {
	deadline := time.Now().Add(leaderWait)
	for {
		if id := rt.s.shardLeader(n); id != "" || time.Now().After(deadline) {
			return id
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peekKey reads a job body's group and name, leaving the body readable.
func peekKey(r *http.Request) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, api.MaxJobBytes+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	var k struct {
		Group string `json:"group"`
		Name  string `json:"name"`
	}
	if json.Unmarshal(body, &k) != nil || k.Group == "" || k.Name == "" {
		return ""
	}
	return k.Group + "/" + k.Name
}
