package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/server"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// startAlertServer is startServer with alert webhooks that try again
// after milliseconds, not seconds.
func startAlertServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{
		DataDir:     t.TempDir(),
		HTTPAddr:    "127.0.0.1:0",
		RaftAddr:    "127.0.0.1:0",
		Shards:      2,
		Replicas:    1,
		ShardTimers: shard.FastTimers,
		MetaTimers:  shard.FastTimers,
		Logger:      bufferedLogger(t),
	})
	require.NoError(t, err)
	s.Notify = transport.NotifierConfig{Backoff: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Start(ctx))
	return s
}

// alertCall is one webhook call the sink received.
type alertCall struct {
	path string
	key  string
	body api.Notification
}

// alertSink receives webhooks; each path answers with its statuses in
// turn (the last repeats; none means 204).
type alertSink struct {
	*httptest.Server
	calls chan alertCall

	mu       sync.Mutex
	statuses map[string][]int
}

func newAlertSink(t *testing.T, statuses map[string][]int) *alertSink {
	k := &alertSink{calls: make(chan alertCall, 64), statuses: statuses}
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n api.Notification
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		k.calls <- alertCall{path: r.URL.Path, key: r.Header.Get("Idempotency-Key"), body: n}
		w.WriteHeader(k.status(r.URL.Path))
	}))
	t.Cleanup(k.Close)
	return k
}

func (k *alertSink) status(path string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.statuses[path]
	if len(s) == 0 {
		return http.StatusNoContent
	}
	if len(s) > 1 {
		k.statuses[path] = s[1:]
	}
	return s[0]
}

func (k *alertSink) next(t *testing.T) alertCall {
	t.Helper()
	select {
	case c := <-k.calls:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook call within 15s")
		return alertCall{}
	}
}

// flakyTarget is what http jobs call: it succeeds, fails, or hangs until
// the caller gives up, as the test sets it.
type flakyTarget struct {
	*httptest.Server
	mode atomic.Value // "ok", "fail", "hang"
}

func newFlakyTarget(t *testing.T) *flakyTarget {
	f := &flakyTarget{}
	f.mode.Store("ok")
	stop := make(chan struct{})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does the server notice that the
		// caller gave up and cancel the request's context.
		io.Copy(io.Discard, r.Body)
		switch f.mode.Load() {
		case "fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}
	}))
	t.Cleanup(f.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	return f
}

// fireNow triggers an existing job once and waits for the execution to end.
func fireNow(t *testing.T, base, key string) api.Execution {
	t.Helper()
	var tr api.TriggerResponse
	require.Equal(t, http.StatusAccepted, do(t, "POST", base+"/v1/jobs/"+key+"/trigger", nil, &tr))
	require.Len(t, tr.Executions, 1)
	return waitEnded(t, base, tr.Executions[0])
}

// TestAlertsOnFailureAfterRetriesThenOnRecovery: a success with no failure
// before it says nothing; a failure is announced once, after its retry,
// and reaches a receiver that answered 500 twice on the third try; the
// next success announces the recovery.
func TestAlertsOnFailureAfterRetriesThenOnRecovery(t *testing.T) {
	sink := newAlertSink(t, map[string][]int{"/alerts": {500, 500, 200}})
	target := newFlakyTarget(t)
	s := startAlertServer(t)
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	job := performJob("flaky", api.Perform{Kind: api.PerformHTTP, URL: target.URL})
	job.Retries = api.Retries{Max: 1, Backoff: api.Duration(50 * time.Millisecond)}
	job.Notify = []api.Notify{{URL: sink.URL + "/alerts"}}
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", job, nil))

	ok := fireNow(t, base, "demo/flaky")
	require.Equal(t, api.ExecSucceeded, ok.State)

	target.mode.Store("fail")
	failed := fireNow(t, base, "demo/flaky")
	require.Equal(t, api.ExecFailed, failed.State)
	require.Equal(t, 2, failed.Attempt, "the retry ran too")
	// A success with no failure before it would have been announced
	// before this failure, so the first call is the failure's.
	for try := 1; try <= 3; try++ {
		c := sink.next(t)
		require.Equal(t, failed.ID+"/2/failure", c.key, "try %d", try)
		require.Equal(t, api.NotifyFailure, c.body.Event)
		require.Equal(t, "demo/flaky", c.body.Job)
		require.Equal(t, failed.ID, c.body.Execution.ID)
		require.Equal(t, api.ExecFailed, c.body.Execution.State)
		require.Equal(t, 2, c.body.Execution.Attempt)
	}

	target.mode.Store("ok")
	recovered := fireNow(t, base, "demo/flaky")
	require.Equal(t, api.ExecSucceeded, recovered.State)
	c := sink.next(t)
	require.Equal(t, recovered.ID+"/1/recovery", c.key)
	require.Equal(t, api.NotifyRecovery, c.body.Event)
	require.Equal(t, api.ExecSucceeded, c.body.Execution.State)
	require.Empty(t, sink.calls, "one call per event once answered 2xx")
}

// TestAlertsOnTimeoutToTheWebhooksThatAskedForIt: a timed-out run is
// announced, only to the webhook subscribed to timeouts.
func TestAlertsOnTimeoutToTheWebhooksThatAskedForIt(t *testing.T) {
	sink := newAlertSink(t, nil)
	target := newFlakyTarget(t)
	target.mode.Store("hang")
	s := startAlertServer(t)
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	job := performJob("slow", api.Perform{Kind: api.PerformHTTP, URL: target.URL, Timeout: api.Duration(200 * time.Millisecond)})
	job.Notify = []api.Notify{
		{URL: sink.URL + "/recoveries", On: []string{api.NotifyRecovery}},
		{URL: sink.URL + "/timeouts", On: []string{api.NotifyTimeout}},
	}
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", job, nil))

	e := fireNow(t, base, "demo/slow")
	require.Equal(t, api.ExecTimedOut, e.State)
	c := sink.next(t)
	require.Equal(t, "/timeouts", c.path)
	require.Equal(t, e.ID+"/1/timeout", c.key)
	require.Equal(t, api.NotifyTimeout, c.body.Event)
	require.Equal(t, api.ExecTimedOut, c.body.Execution.State)
	require.WithinDuration(t, time.Now(), c.body.At, time.Minute)

	// The job recovers: only the recovery webhook hears of it.
	target.mode.Store("ok")
	e = fireNow(t, base, "demo/slow")
	require.Equal(t, api.ExecSucceeded, e.State)
	c = sink.next(t)
	require.Equal(t, "/recoveries", c.path)
	require.Equal(t, e.ID+"/1/recovery", c.key)
	require.Empty(t, sink.calls)
}
