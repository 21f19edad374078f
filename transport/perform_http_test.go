package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

// reports records what a performer reports. The first failResults calls
// of Result answer with an error, as when the shard leader moved.
type reports struct {
	acks        chan *protocol.Ack
	results     chan *protocol.Result
	failResults atomic.Int32
}

func newReports() *reports {
	return &reports{acks: make(chan *protocol.Ack, 64), results: make(chan *protocol.Result, 64)}
}

func (r *reports) Ack(a *protocol.Ack) { r.acks <- a }

func (r *reports) Result(res *protocol.Result, done func(error)) {
	r.results <- res
	if r.failResults.Add(-1) >= 0 {
		done(errors.New("leader moved"))
		return
	}
	done(nil)
}

func (r *reports) ack(t *testing.T) *protocol.Ack {
	t.Helper()
	select {
	case a := <-r.acks:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no ack within 10s")
		return nil
	}
}

func (r *reports) result(t *testing.T) *protocol.Result {
	t.Helper()
	select {
	case res := <-r.results:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10s")
		return nil
	}
}

func (r *reports) requireNoResult(t *testing.T) {
	t.Helper()
	select {
	case res := <-r.results:
		t.Fatalf("unexpected result %+v", res)
	default:
	}
}

func httpFire(id, url string) *protocol.Fire {
	return &protocol.Fire{
		ExecID:      id,
		Attempt:     2,
		Shard:       1,
		Term:        4,
		Job:         "hooks/nightly",
		JobID:       "job-1",
		ScheduledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		FiredAt:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Executor:    api.Executor{Kind: api.ExecutorProcess, Command: "echo"},
		Data:        map[string]string{"tenant": "acme"},
		Perform:     &api.Perform{Kind: api.PerformHTTP, URL: url, Method: "POST"},
	}
}

func newHTTPPerformer(t *testing.T, cfg transport.HTTPPerformerConfig) *transport.HTTPPerformer {
	t.Helper()
	p, err := transport.NewHTTPPerformer(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// gatedServer answers once its gate opens (or the request ends), and
// tells on started each request it got.
func gatedServer(t *testing.T) (srv *httptest.Server, started chan string, open func()) {
	gate := make(chan struct{})
	var once sync.Once
	started = make(chan string, 64)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- r.Header.Get("X-Swarm-Execution-Id")
		select {
		case <-gate:
			io.WriteString(w, "late")
		case <-r.Context().Done():
		}
	}))
	open = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(srv.Close)
	t.Cleanup(open) // before srv.Close: no handler left blocked
	return srv, started, open
}

func TestHTTPPerformerPostsTheFireAndRecordsTheAnswer(t *testing.T) {
	t.Parallel()
	type got struct {
		method string
		header http.Header
		fire   protocol.Fire
	}
	reqs := make(chan got, 1)
	body := "é" + strings.Repeat("a", transport.HTTPBodyTail-2) + "ok" // the bound cuts into é
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f protocol.Fire
		require.NoError(t, json.NewDecoder(r.Body).Decode(&f))
		reqs <- got{r.Method, r.Header.Clone(), f}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	f := httpFire("e-1", srv.URL+"/run")
	require.NoError(t, p.Perform(context.Background(), f, rep))

	ack := rep.ack(t)
	require.Equal(t, &protocol.Ack{ExecID: "e-1", Attempt: 2, Accepted: true, StartedAt: ack.StartedAt}, ack)
	require.False(t, ack.StartedAt.IsZero())

	req := <-reqs
	require.Equal(t, "POST", req.method)
	require.Equal(t, "application/json", req.header.Get("Content-Type"))
	require.Equal(t, "e-1", req.header.Get("X-Swarm-Execution-Id"))
	require.Equal(t, "2", req.header.Get("X-Swarm-Attempt"))
	require.Equal(t, "e-1/2", req.header.Get("Idempotency-Key"))
	require.Equal(t, f.ExecID, req.fire.ExecID)
	require.Equal(t, f.Job, req.fire.Job)
	require.Equal(t, f.Executor, req.fire.Executor)
	require.Equal(t, f.Data, req.fire.Data)
	require.Equal(t, f.Perform.URL, req.fire.Perform.URL)

	res := rep.result(t)
	require.Equal(t, api.ExecSucceeded, res.State)
	require.Equal(t, http.StatusOK, res.HTTPStatus)
	require.Empty(t, res.Error)
	require.Equal(t, strings.Repeat("a", transport.HTTPBodyTail-2)+"ok", res.Output, "the last bytes, whole runes only")
	require.Equal(t, ack.StartedAt, res.StartedAt)
	require.False(t, res.FinishedAt.Before(res.StartedAt))
}

func TestHTTPPerformerRecordsANon2xxAsFailed(t *testing.T) {
	t.Parallel()
	var method atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method.Store(r.Method)
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "boom")
	}))
	defer srv.Close()
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	f := httpFire("e-500", srv.URL)
	f.Perform.Method = "PUT"
	require.NoError(t, p.Perform(context.Background(), f, rep))

	res := rep.result(t)
	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, http.StatusInternalServerError, res.HTTPStatus)
	require.Equal(t, "boom", res.Output)
	require.Equal(t, "http status 500 Internal Server Error", res.Error)
	require.Equal(t, "PUT", method.Load())
}

func TestHTTPPerformerTimesOutAtTheShorterTimeout(t *testing.T) {
	t.Parallel()
	srv, _, _ := gatedServer(t)
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})

	for _, tc := range []struct {
		name      string
		perform   time.Duration
		timeoutMS int64
		want      string
	}{
		{"perform timeout", 100 * time.Millisecond, 0, "timed out after 100ms"},
		{"job timeout", time.Hour, 150, "timed out after 150ms"},
	} {
		rep := newReports()
		f := httpFire("e-"+tc.name, srv.URL)
		f.Perform.Timeout, f.TimeoutMS = api.Duration(tc.perform), tc.timeoutMS
		require.NoError(t, p.Perform(context.Background(), f, rep))

		res := rep.result(t)
		require.Equal(t, api.ExecTimedOut, res.State, tc.name)
		require.Equal(t, tc.want, res.Error, tc.name)
		require.Zero(t, res.HTTPStatus, tc.name)
	}
}

func TestHTTPPerformerRecordsANetworkErrorAsFailed(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), httpFire("e-down", "http://"+addr+"/run"), rep))

	res := rep.result(t)
	require.Equal(t, api.ExecFailed, res.State)
	require.Contains(t, res.Error, "connection refused")
	require.Zero(t, res.HTTPStatus)
}

func TestHTTPPerformerFollowsAFewRedirectsWithoutCookies(t *testing.T) {
	t.Parallel()
	var hits, withCookie atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if _, err := r.Cookie("session"); err == nil {
			withCookie.Add(1)
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "x"})
		http.Redirect(w, r, "/again", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), httpFire("e-loop", srv.URL), rep))

	res := rep.result(t)
	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, http.StatusTemporaryRedirect, res.HTTPStatus)
	require.Equal(t, int32(4), hits.Load(), "the first call and three redirects")
	require.Zero(t, withCookie.Load())
}

func TestHTTPPerformerCallsAResentFireOnce(t *testing.T) {
	t.Parallel()
	srv, started, open := gatedServer(t)
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	f := httpFire("e-dup", srv.URL)
	require.NoError(t, p.Perform(context.Background(), f, rep))
	require.Equal(t, "e-dup", <-started)
	require.NoError(t, p.Perform(context.Background(), f, rep), "a resend is taken, not refused")
	open()

	res := rep.result(t)
	require.Equal(t, api.ExecSucceeded, res.State)
	require.Equal(t, "late", res.Output)
	require.NoError(t, p.Close())
	require.Empty(t, started, "the resend made no second call")
	rep.requireNoResult(t)
}

func TestHTTPPerformerReportsAResultAgainUntilRecorded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{ResultRetries: 3, ResultRetryBackoff: time.Millisecond})
	rep := newReports()
	rep.failResults.Store(2)

	require.NoError(t, p.Perform(context.Background(), httpFire("e-retry", srv.URL), rep))

	for range 3 {
		res := rep.result(t)
		require.Equal(t, "e-retry", res.ExecID)
		require.Equal(t, api.ExecSucceeded, res.State)
	}
	require.NoError(t, p.Close())
	rep.requireNoResult(t) // the third was recorded
}

func TestHTTPPerformerGivesUpReportingAfterItsRetries(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{ResultRetries: 1, ResultRetryBackoff: time.Millisecond})
	rep := newReports()
	rep.failResults.Store(100)

	require.NoError(t, p.Perform(context.Background(), httpFire("e-lost", srv.URL), rep))
	rep.result(t)
	rep.result(t)
	require.NoError(t, p.Close())
	rep.requireNoResult(t)
}

func TestHTTPPerformerRefusesBeyondItsQueue(t *testing.T) {
	t.Parallel()
	srv, started, open := gatedServer(t)
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{MaxInFlight: 1, MaxQueued: 1})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), httpFire("e-1", srv.URL), rep))
	require.Equal(t, "e-1", <-started)
	require.NoError(t, p.Perform(context.Background(), httpFire("e-2", srv.URL), rep), "queued")
	err := p.Perform(context.Background(), httpFire("e-3", srv.URL), rep)
	require.ErrorIs(t, err, transport.ErrPerformerBusy)

	require.Len(t, rep.acks, 1, "the queued call has not started")
	open()
	got := map[string]string{}
	for range 2 {
		res := rep.result(t)
		got[res.ExecID] = res.State
	}
	require.Equal(t, map[string]string{"e-1": api.ExecSucceeded, "e-2": api.ExecSucceeded}, got)
}

func TestHTTPPerformerKillStopsTheCall(t *testing.T) {
	t.Parallel()
	srv, started, _ := gatedServer(t)
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), httpFire("e-kill", srv.URL), rep))
	<-started
	require.True(t, p.Kill("e-kill"))
	require.False(t, p.Kill("e-other"))

	res := rep.result(t)
	require.Equal(t, api.ExecKilled, res.State)
	require.Equal(t, "killed", res.Error)
}

func TestHTTPPerformerKillEndsAQueuedCall(t *testing.T) {
	t.Parallel()
	srv, started, open := gatedServer(t)
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{MaxInFlight: 1})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), httpFire("e-busy", srv.URL), rep))
	<-started
	require.NoError(t, p.Perform(context.Background(), httpFire("e-queued", srv.URL), rep))
	require.True(t, p.Kill("e-queued"))

	res := rep.result(t)
	require.Equal(t, "e-queued", res.ExecID)
	require.Equal(t, api.ExecKilled, res.State)
	require.Equal(t, "killed before the call", res.Error)
	open()
	require.Equal(t, "e-busy", rep.result(t).ExecID)
	require.Empty(t, started, "the killed call was never made")
}

func TestHTTPPerformerCloseCancelsCallsWithoutReporting(t *testing.T) {
	t.Parallel()
	srv, started, _ := gatedServer(t)
	p := newHTTPPerformer(t, transport.HTTPPerformerConfig{})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), httpFire("e-close", srv.URL), rep))
	<-started
	require.NoError(t, p.Close()) // returns although the server never answers

	rep.requireNoResult(t)
	require.ErrorIs(t, p.Perform(context.Background(), httpFire("e-after", srv.URL), rep), transport.ErrPerformerClosed)
}

func TestHTTPPerformerConfigNamesTheBadField(t *testing.T) {
	t.Parallel()
	for field, cfg := range map[string]transport.HTTPPerformerConfig{
		"Timeout":            {Timeout: -1},
		"MaxInFlight":        {MaxInFlight: -1},
		"MaxQueued":          {MaxQueued: -1},
		"ResultRetries":      {ResultRetries: -1},
		"ResultRetryBackoff": {ResultRetryBackoff: -1},
	} {
		_, err := transport.NewHTTPPerformer(cfg)
		require.ErrorContains(t, err, field+":")
	}
}
