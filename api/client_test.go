package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmsched/swarm/scheduler"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seen is one request as the fake server received it.
type seen struct {
	Method, Path, Query, Body, Auth, ContentType string
}

// fakeServer answers every request with the next canned answer and
// records what it received.
type fakeServer struct {
	*httptest.Server

	mu     sync.Mutex
	reqs   []seen
	status int
	body   string
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{status: http.StatusOK, body: "{}"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(b),
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
		})
		status, body := f.status, f.body
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeServer) last(t *testing.T) seen {
	t.Helper()
	reqs := f.requests()
	require.NotEmpty(t, reqs, "the server got no request")
	return reqs[len(reqs)-1]
}

func newTestClient(t *testing.T, servers []string, opts ...ClientOption) *RESTClient {
	t.Helper()
	c, err := NewClient(servers, opts...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func sampleJob() *Job {
	return &Job{
		Group:    "billing",
		Name:     "nightly",
		Trigger:  scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 2 * * ?"},
		Executor: Executor{Kind: ExecutorProcess, Command: "/bin/true"},
	}
}

func TestClientSendsEachCallAsDocumented(t *testing.T) {
	srv := newFakeServer(t)
	c := newTestClient(t, []string{srv.URL}, WithToken("s3cret"))
	ctx := context.Background()
	jobJSON := `{"group":"billing","name":"nightly","trigger":{"kind":"cron","cron":"0 0 2 * * ?"},"executor":{"kind":"process","command":"/bin/true"}}`
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	cases := []struct {
		name     string
		answer   string
		status   int
		call     func() (any, error)
		method   string
		path     string
		query    string
		body     string // JSON; empty means no body
		wantBack any
	}{
		{
			name: "create job", answer: `{"group":"billing","name":"nightly","id":"j1","state":"normal"}`, status: 201,
			call:   func() (any, error) { j, err := c.CreateJob(ctx, sampleJob()); return j.ID, err },
			method: "POST", path: "/v1/jobs", body: jobJSON, wantBack: "j1",
		},
		{
			name: "get job", answer: `{"group":"billing","name":"nightly","state":"paused"}`,
			call:   func() (any, error) { j, err := c.GetJob(ctx, "billing", "nightly"); return j.State, err },
			method: "GET", path: "/v1/jobs/billing/nightly", wantBack: "paused",
		},
		{
			name: "list jobs", answer: `{"jobs":[{"group":"g","name":"a"}],"next_cursor":"c2"}`,
			call: func() (any, error) {
				l, err := c.ListJobs(ctx, ListJobsOptions{Group: "g", Limit: 5, Cursor: "c1"})
				return fmt.Sprintf("%d %s", len(l.Jobs), l.NextCursor), err
			},
			method: "GET", path: "/v1/jobs", query: "cursor=c1&group=g&limit=5", wantBack: "1 c2",
		},
		{
			name: "put job with create", answer: `{"group":"billing","name":"nightly","version":3}`,
			call:   func() (any, error) { j, err := c.PutJob(ctx, sampleJob(), true); return j.Version, err },
			method: "PUT", path: "/v1/jobs/billing/nightly", query: "create=true", body: jobJSON, wantBack: uint64(3),
		},
		{
			name: "put job without create", answer: `{"group":"billing","name":"nightly"}`,
			call:   func() (any, error) { _, err := c.PutJob(ctx, sampleJob(), false); return nil, err },
			method: "PUT", path: "/v1/jobs/billing/nightly", body: jobJSON,
		},
		{
			name: "delete job", answer: "", status: 204,
			call:   func() (any, error) { return nil, c.DeleteJob(ctx, "billing", "nightly") },
			method: "DELETE", path: "/v1/jobs/billing/nightly",
		},
		{
			name: "pause job", answer: `{"group":"billing","name":"nightly","state":"paused"}`,
			call:   func() (any, error) { j, err := c.PauseJob(ctx, "billing", "nightly"); return j.State, err },
			method: "POST", path: "/v1/jobs/billing/nightly/pause", wantBack: "paused",
		},
		{
			name: "resume job", answer: `{"group":"billing","name":"nightly","state":"normal"}`,
			call:   func() (any, error) { j, err := c.ResumeJob(ctx, "billing", "nightly"); return j.State, err },
			method: "POST", path: "/v1/jobs/billing/nightly/resume", wantBack: "normal",
		},
		{
			name: "trigger job", answer: `{"executions":["e1","e2"]}`, status: 202,
			call:   func() (any, error) { return c.TriggerJob(ctx, "billing", "nightly") },
			method: "POST", path: "/v1/jobs/billing/nightly/trigger", wantBack: []string{"e1", "e2"},
		},
		{
			name: "pause group", answer: `{"jobs":7}`,
			call:   func() (any, error) { return c.PauseGroup(ctx, "billing") },
			method: "POST", path: "/v1/groups/billing/pause", wantBack: 7,
		},
		{
			name: "resume group", answer: `{"jobs":2}`,
			call:   func() (any, error) { return c.ResumeGroup(ctx, "billing") },
			method: "POST", path: "/v1/groups/billing/resume", wantBack: 2,
		},
		{
			name: "batch", answer: `{"results":[{"key":"billing/nightly","status":201}]}`,
			call: func() (any, error) {
				res, err := c.BatchJobs(ctx, &BatchRequest{Jobs: []Job{*sampleJob()}, Mode: BatchUpsert})
				return res.Results[0].Status, err
			},
			method: "POST", path: "/v1/jobs:batch", body: `{"jobs":[` + jobJSON + `],"mode":"upsert"}`, wantBack: 201,
		},
		{
			name: "list executions", answer: `{"executions":[{"id":"e9","job":"billing/nightly","scheduled_at":"2026-03-01T00:00:00Z","state":"running","attempt":1}]}`,
			call: func() (any, error) {
				l, err := c.ListExecutions(ctx, "billing", "nightly", ListOptions{Limit: 2})
				return l.Executions[0].ID, err
			},
			method: "GET", path: "/v1/jobs/billing/nightly/executions", query: "limit=2", wantBack: "e9",
		},
		{
			name: "get execution escapes the id", answer: `{"id":"a/b","state":"failed"}`,
			call:   func() (any, error) { e, err := c.GetExecution(ctx, "a/b"); return e.State, err },
			method: "GET", path: "/v1/executions/a%2Fb", wantBack: "failed",
		},
		{
			name: "kill execution", answer: "", status: 202,
			call:   func() (any, error) { return nil, c.KillExecution(ctx, "e1") },
			method: "POST", path: "/v1/executions/e1/kill",
		},
		{
			name: "preview", answer: `{"fire_times":["2026-03-01T02:00:00Z"],"local_times":["2026-03-01T03:00:00+01:00"],"time_zone":"Europe/Berlin"}`,
			call: func() (any, error) {
				p, err := c.PreviewTrigger(ctx, PreviewRequest{Trigger: scheduler.Spec{Kind: "cron", Cron: "0 0 2 * * ?"}, Count: 1, From: &from})
				return p.TimeZone, err
			},
			method: "POST", path: "/v1/triggers:preview",
			body: `{"trigger":{"kind":"cron","cron":"0 0 2 * * ?"},"count":1,"from":"2026-03-01T00:00:00Z"}`, wantBack: "Europe/Berlin",
		},
		{
			name: "create calendar", answer: `{"name":"holidays","kind":"holiday","dates":["2026-12-25"]}`, status: 201,
			call: func() (any, error) {
				cal, err := c.CreateCalendar(ctx, &scheduler.CalendarSpec{Name: "holidays", Kind: "holiday", Dates: []string{"2026-12-25"}})
				return cal.Dates, err
			},
			method: "POST", path: "/v1/calendars", body: `{"name":"holidays","kind":"holiday","dates":["2026-12-25"]}`,
			wantBack: []string{"2026-12-25"},
		},
		{
			name: "put calendar", answer: `{"name":"holidays","kind":"weekly","days":["SAT"]}`,
			call: func() (any, error) {
				cal, err := c.PutCalendar(ctx, &scheduler.CalendarSpec{Name: "holidays", Kind: "weekly", Days: []string{"SAT"}})
				return cal.Kind, err
			},
			method: "PUT", path: "/v1/calendars/holidays", body: `{"name":"holidays","kind":"weekly","days":["SAT"]}`, wantBack: "weekly",
		},
		{
			name: "get calendar", answer: `{"name":"holidays","kind":"holiday"}`,
			call:   func() (any, error) { cal, err := c.GetCalendar(ctx, "holidays"); return cal.Kind, err },
			method: "GET", path: "/v1/calendars/holidays", wantBack: "holiday",
		},
		{
			name: "list calendars", answer: `{"calendars":[{"name":"a","kind":"daily"},{"name":"b","kind":"weekly"}]}`,
			call:   func() (any, error) { l, err := c.ListAllCalendars(ctx); return len(l), err },
			method: "GET", path: "/v1/calendars", wantBack: 2,
		},
		{
			name: "delete calendar", answer: "", status: 204,
			call:   func() (any, error) { return nil, c.DeleteCalendar(ctx, "holidays") },
			method: "DELETE", path: "/v1/calendars/holidays",
		},
		{
			name: "cluster", answer: `{"meta_leader":"s1","servers":[{"id":"s1","http":"h","state":"alive","load":{"jobs":4}}],"shards":[],"under_replicated":1}`,
			call: func() (any, error) {
				cl, err := c.Cluster(ctx)
				return fmt.Sprintf("%s %d %d", cl.MetaLeader, cl.Servers[0].Load.Jobs, cl.UnderReplicated), err
			},
			method: "GET", path: "/v1/cluster", wantBack: "s1 4 1",
		},
		{
			name: "list clients", answer: `{"clients":[{"id":"w1","group":"batch","server":"s1","capacity":4,"running":1,"connected_at":"2026-03-01T00:00:00Z"}]}`,
			call: func() (any, error) {
				l, err := c.ListClients(ctx, ListClientsOptions{Group: "batch"})
				return l.Clients[0].ID, err
			},
			method: "GET", path: "/v1/clients", query: "group=batch", wantBack: "w1",
		},
		{
			name: "version", answer: `{"version":"1.2.3","protocol":1}`,
			call:   func() (any, error) { v, err := c.Version(ctx); return v.Version, err },
			method: "GET", path: "/v1/version", wantBack: "1.2.3",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			srv.answer(status, tc.answer)

			got, err := tc.call()
			require.NoError(t, err)
			if tc.wantBack != nil {
				require.Equal(t, tc.wantBack, got)
			}

			req := srv.last(t)
			require.Equal(t, tc.method, req.Method)
			require.Equal(t, tc.path, req.Path)
			require.Equal(t, tc.query, req.Query)
			require.Equal(t, "Bearer s3cret", req.Auth)
			if tc.body == "" {
				require.Empty(t, req.Body)
				return
			}
			require.JSONEq(t, tc.body, req.Body)
			require.Equal(t, "application/json", req.ContentType)
		})
	}
}

func TestClientSendsNoTokenUnlessGiven(t *testing.T) {
	srv := newFakeServer(t)
	srv.answer(200, `{"version":"v","protocol":1}`)
	c := newTestClient(t, []string{srv.URL})

	_, err := c.Version(context.Background())
	require.NoError(t, err)
	require.Empty(t, srv.last(t).Auth)
}

func TestClientRefusesBadKeysBeforeSending(t *testing.T) {
	srv := newFakeServer(t)
	c := newTestClient(t, []string{srv.URL})

	_, err := c.GetJob(context.Background(), "", "x")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "group", apiErr.Field)

	_, err = c.GetJob(context.Background(), "g", "bad/name")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "name", apiErr.Field)

	_, err = c.GetExecution(context.Background(), " ")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "id", apiErr.Field)
	require.Empty(t, srv.requests())
}

func TestNewClientAddresses(t *testing.T) {
	c, err := NewClient([]string{"127.0.0.1:7700", " https://a.example:8443/ ", "http://b:1/prefix/"})
	require.NoError(t, err)
	require.Equal(t, []string{"http://127.0.0.1:7700", "https://a.example:8443", "http://b:1/prefix"}, c.Servers())

	for _, bad := range []string{"", "ftp://x:1", "http://", "http://h:1/?q=1"} {
		_, err := NewClient([]string{bad})
		require.Error(t, err, "address %q", bad)
	}
	_, err = NewClient(nil)
	require.ErrorContains(t, err, "no server")
}

func TestClientFailsOverToTheNextServerWhenOneIsDown(t *testing.T) {
	srv := newFakeServer(t)
	srv.answer(200, `{"version":"v2","protocol":1}`)
	down := closedAddr(t)

	var mu sync.Mutex
	var dialed []string
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	hc := &http.Client{Transport: tr}
	t.Cleanup(hc.CloseIdleConnections)
	c := newTestClient(t, []string{down, srv.URL}, WithHTTPClient(hc))

	// A POST may fail over too: a refused dial proves it was never sent.
	ids, err := func() ([]string, error) {
		srv.answer(202, `{"executions":["e1"]}`)
		return c.TriggerJob(context.Background(), "g", "n")
	}()
	require.NoError(t, err)
	require.Equal(t, []string{"e1"}, ids)

	srv.answer(200, `{"version":"v2","protocol":1}`)
	v, err := c.Version(context.Background())
	require.NoError(t, err)
	require.Equal(t, "v2", v.Version)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, down, dialed[0], "the first server is tried first")
	require.NotContains(t, dialed[1:], down, "after a failover the server that answered is tried first")
	require.Len(t, srv.requests(), 2)
}

func TestClientDoesNotFailOverOnAnErrorAnswer(t *testing.T) {
	first, second := newFakeServer(t), newFakeServer(t)
	first.answer(500, `{"error":{"code":"internal","message":"disk full"}}`)
	c := newTestClient(t, []string{first.URL, second.URL})

	_, err := c.GetJob(context.Background(), "g", "n")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 500, apiErr.Status)
	require.Equal(t, "disk full", apiErr.Message)
	require.Empty(t, second.requests(), "a 5xx answer is final")
}

// TestClientDoesNotResendAPostThatMayHaveArrived: a server that drops the
// connection after reading a POST may have applied it; only idempotent
// requests go to the next server then.
func TestClientDoesNotResendAPostThatMayHaveArrived(t *testing.T) {
	dropper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(dropper.Close)
	good := newFakeServer(t)
	c := newTestClient(t, []string{dropper.URL, good.URL})

	_, err := c.TriggerJob(context.Background(), "g", "n")
	require.Error(t, err)
	var unreachable *UnreachableError
	require.False(t, errors.As(err, &unreachable), "a dropped POST is not reported as unreachable: %v", err)
	require.Empty(t, good.requests())

	good.answer(200, `{"group":"g","name":"n"}`)
	j, err := c.GetJob(context.Background(), "g", "n")
	require.NoError(t, err)
	require.Equal(t, "n", j.Name)
	require.Len(t, good.requests(), 1)
}

func TestClientReportsEveryServerUnreachable(t *testing.T) {
	a, b := closedAddr(t), closedAddr(t)
	c := newTestClient(t, []string{a, b})

	_, err := c.Cluster(context.Background())
	var unreachable *UnreachableError
	require.ErrorAs(t, err, &unreachable)
	require.Equal(t, []string{"http://" + a, "http://" + b}, unreachable.Servers)
	require.ErrorContains(t, err, "connection refused")
}

func TestClientDecodesErrors(t *testing.T) {
	srv := newFakeServer(t)
	c := newTestClient(t, []string{srv.URL})
	ctx := context.Background()

	cases := []struct {
		name                 string
		status               int
		body                 string
		code, field, message string
	}{
		{"envelope with field", 400, `{"error":{"code":"invalid_argument","message":"bad cron","field":"trigger.cron"}}`,
			CodeInvalid, "trigger.cron", "bad cron"},
		{"envelope without code", 409, `{"error":{"message":"exists"}}`, CodeConflict, "", "exists"},
		{"plain text", 502, "upstream gone\n", CodeInternal, "", "server answered 502 Bad Gateway: upstream gone"},
		{"empty body", 404, "", CodeNotFound, "", "server answered 404 Not Found"},
		{"other json", 503, `{"status":"down"}`, CodeUnavailable, "", `server answered 503 Service Unavailable: {"status":"down"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.answer(tc.status, tc.body)
			_, err := c.CreateJob(ctx, sampleJob())
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.status, apiErr.Status)
			require.Equal(t, tc.code, apiErr.Code)
			require.Equal(t, tc.field, apiErr.Field)
			require.Equal(t, tc.message, apiErr.Message)
			require.True(t, HasCode(err, tc.code))
		})
	}
}

func TestClientTimesOutASilentServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := newTestClient(t, []string{srv.URL}, WithTimeout(50*time.Millisecond))

	_, err := c.Version(context.Background())
	require.ErrorContains(t, err, "no answer within 50ms")
}

func TestListAllFollowsCursors(t *testing.T) {
	pages := map[string]string{
		"":   `{"jobs":[{"group":"g","name":"a"},{"group":"g","name":"b"}],"next_cursor":"p2"}`,
		"p2": `{"jobs":[{"group":"g","name":"c"}],"next_cursor":"p3"}`,
		"p3": `{"jobs":[{"group":"g","name":"d"}]}`,
		"x":  `{"jobs":[],"next_cursor":"x"}`,
	}
	var mu sync.Mutex
	var limits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		limits = append(limits, r.URL.Query().Get("limit"))
		mu.Unlock()
		_, _ = io.WriteString(w, pages[r.URL.Query().Get("cursor")])
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, []string{srv.URL})

	jobs, err := c.ListAllJobs(context.Background(), ListJobsOptions{Limit: 2})
	require.NoError(t, err)
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	require.Equal(t, []string{"a", "b", "c", "d"}, names)
	require.Equal(t, []string{"2", "2", "2"}, limits)

	_, err = c.ListAllJobs(context.Background(), ListJobsOptions{Cursor: "x"})
	require.ErrorContains(t, err, "repeated cursor")
}

func TestExecutionLogsStreams(t *testing.T) {
	more := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/executions/e1/logs" {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"execution e2 not found"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = fmt.Fprintf(w, "follow=%s\n", r.URL.Query().Get("follow"))
		w.(http.Flusher).Flush()
		select {
		case <-more:
			_, _ = io.WriteString(w, "line 2\n")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, []string{srv.URL})

	rc, err := c.ExecutionLogs(context.Background(), "e1", true)
	require.NoError(t, err)
	br := bufio.NewReader(rc)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "follow=true\n", line, "the first line arrives while the run still lives")
	close(more)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Equal(t, "line 2\n", string(rest))
	require.NoError(t, rc.Close())

	_, err = c.ExecutionLogs(context.Background(), "e2", false)
	require.True(t, HasCode(err, CodeNotFound), "err: %v", err)
}

func TestBatchResponseErr(t *testing.T) {
	ok := &BatchResponse{Results: []BatchResult{{Key: "g/a", Status: 201}, {Key: "g/b", Status: 200}}}
	require.NoError(t, ok.Err())
	require.Zero(t, ok.Failed())

	bad := &BatchResponse{Results: []BatchResult{
		{Key: "g/a", Status: 201},
		{Key: "g/b", Status: 400, Error: Invalid("trigger.cron", "bad")},
		{Key: "g/c", Status: 409, Error: AlreadyExists("exists")},
	}}
	require.Equal(t, 2, bad.Failed())
	err := bad.Err()
	require.ErrorContains(t, err, "2 of 3 failed, first g/b")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "trigger.cron", apiErr.Field)

	var back BatchResponse
	b, err := json.Marshal(bad)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, "bad", back.Results[1].Error.Message)
	require.True(t, strings.Contains(string(b), `"status":409`))
}

func TestBatchRequestValidate(t *testing.T) {
	require.NoError(t, (&BatchRequest{Jobs: []Job{*sampleJob()}}).Validate())
	cases := map[string]*BatchRequest{
		"mode": {Jobs: []Job{*sampleJob()}, Mode: "merge"},
		"jobs": {Mode: BatchCreate},
	}
	for field, req := range cases {
		var apiErr *Error
		require.ErrorAs(t, req.Validate(), &apiErr)
		require.Equal(t, field, apiErr.Field)
	}
	tooMany := &BatchRequest{Jobs: make([]Job, MaxBatchJobs+1)}
	require.ErrorContains(t, tooMany.Validate(), "at most")
}
