package transport_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/transport"
)

// notifyResults records what the notifier counts.
type notifyResults chan string

func (r notifyResults) Notification(event, result string) { r <- event + "/" + result }

func (r notifyResults) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no notification ended within 10s")
		return ""
	}
}

// hookCall is one request a webhook receiver got.
type hookCall struct {
	header http.Header
	body   api.Notification
}

// receiver answers each call with the next status of statuses (the last
// one repeats) and passes the calls on.
func receiver(t *testing.T, statuses ...int) (*httptest.Server, chan hookCall) {
	calls := make(chan hookCall, 16)
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body api.Notification
		json.Unmarshal(b, &body)
		calls <- hookCall{header: r.Header.Clone(), body: body}
		w.WriteHeader(statuses[min(n, len(statuses)-1)])
		n++
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

func newNotifier(t *testing.T, cfg transport.NotifierConfig) *transport.Notifier {
	n, err := transport.NewNotifier(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return n
}

func alertJob(n ...api.Notify) *api.Job {
	return &api.Job{Group: "billing", Name: "invoices", Notify: n}
}

var failedExec = &api.Execution{ID: "0003-00000000000000aa-0000019a2b3c4d5e-0000", Job: "billing/invoices", State: api.ExecFailed, Attempt: 3}

func TestNotifierTriesAgainAfterServerErrors(t *testing.T) {
	srv, calls := receiver(t, 500, 503, 204)
	results := notifyResults(make(chan string, 4))
	n := newNotifier(t, transport.NotifierConfig{Backoff: 5 * time.Millisecond, Metrics: results})

	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n.Notify(api.NotifyFailure, alertJob(api.Notify{URL: srv.URL + "/hook", Headers: map[string]string{"Authorization": "Bearer s3cret"}}), failedExec, at)

	require.Equal(t, "failure/delivered", results.next(t))
	require.Len(t, calls, 3, "two server errors, then the answer")
	var last hookCall
	for range 3 {
		c := <-calls
		require.Equal(t, failedExec.ID+"/3/failure", c.header.Get("Idempotency-Key"), "the same key on every try")
		last = c
	}
	require.Equal(t, "application/json", last.header.Get("Content-Type"))
	require.Equal(t, "Bearer s3cret", last.header.Get("Authorization"))
	require.Equal(t, "failure", last.header.Get("X-Swarm-Event"))
	require.Equal(t, api.Notification{Event: "failure", Job: "billing/invoices", Execution: *failedExec, At: at}, last.body)
}

func TestNotifierGivesUpOnAClientErrorAndAfterItsTries(t *testing.T) {
	refuses, refused := receiver(t, 404)
	broken, tried := receiver(t, 500)
	results := notifyResults(make(chan string, 4))
	n := newNotifier(t, transport.NotifierConfig{Backoff: time.Millisecond, Tries: 3, Metrics: results})

	n.Notify(api.NotifyFailure, alertJob(api.Notify{URL: refuses.URL}), failedExec, time.Now())
	require.Equal(t, "failure/failed", results.next(t))
	require.Len(t, refused, 1, "a 404 is not tried again")

	n.Notify(api.NotifyTimeout, alertJob(api.Notify{URL: broken.URL}), failedExec, time.Now())
	require.Equal(t, "timeout/failed", results.next(t))
	require.Len(t, tried, 3, "tries are bounded")
}

func TestNotifierCallsOnlyTheWebhooksOfTheEvent(t *testing.T) {
	srv, calls := receiver(t, 200)
	release := make(chan struct{})
	blocking := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- hookCall{header: r.Header.Clone()}
		<-release
	}))
	t.Cleanup(blocking.Close)
	results := notifyResults(make(chan string, 4))
	n := newNotifier(t, transport.NotifierConfig{MaxInFlight: 1, MaxQueued: 1, Metrics: results})

	// With room for one notification, the recovery-only webhook listed
	// first would take it if it were (wrongly) called for a failure.
	job := alertJob(api.Notify{URL: srv.URL, On: []string{api.NotifyRecovery}}, api.Notify{URL: blocking.URL, On: []string{api.NotifyFailure}})
	n.Notify(api.NotifyFailure, job, failedExec, time.Now())
	select {
	case c := <-calls:
		require.Equal(t, "failure", c.header.Get("X-Swarm-Event"))
	case <-time.After(10 * time.Second):
		t.Fatal("the failure webhook was not called")
	}

	// The queue is full while the receiver holds the call: drop.
	n.Notify(api.NotifyFailure, job, failedExec, time.Now())
	require.Equal(t, "failure/dropped", results.next(t))

	close(release)
	require.Equal(t, "failure/delivered", results.next(t))
	require.Empty(t, calls, "the recovery webhook was never called")
}

func TestNotifierCloseStopsAWaitingRetry(t *testing.T) {
	srv, calls := receiver(t, 500)
	n := newNotifier(t, transport.NotifierConfig{Backoff: time.Hour})
	n.Notify(api.NotifyLost, alertJob(api.Notify{URL: srv.URL}), failedExec, time.Now())
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatal("no call")
	}
	done := make(chan struct{})
	go func() {
		n.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the backoff")
	}
	n.Notify(api.NotifyLost, alertJob(api.Notify{URL: srv.URL}), failedExec, time.Now())
	require.Empty(t, calls, "nothing is sent after Close")
}

func TestNotifierConfigNamesTheBadField(t *testing.T) {
	_, err := transport.NewNotifier(transport.NotifierConfig{Tries: -1})
	require.ErrorContains(t, err, "Tries")
}
