package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client"
	"github.com/swarmsched/swarm/protocol"
)

// performJob is a job that fires only when triggered.
func performJob(name string, p api.Perform) api.Job {
	j := cronJob(name)
	j.Trigger = schedulerSpec("0 0 0 1 1 ? 2099")
	j.Perform = p
	return j
}

// triggerOnce creates job, fires it once and returns the execution id.
func triggerOnce(t *testing.T, base string, job api.Job) string {
	t.Helper()
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", job, nil))
	var tr api.TriggerResponse
	require.Equal(t, http.StatusAccepted, do(t, "POST", base+"/v1/jobs/"+job.Group+"/"+job.Name+"/trigger", nil, &tr))
	require.Len(t, tr.Executions, 1)
	return tr.Executions[0]
}

// waitEnded polls the execution until it is terminal.
func waitEnded(t *testing.T, base, id string) api.Execution {
	t.Helper()
	var e api.Execution
	require.Eventually(t, func() bool {
		e = api.Execution{}
		return do(t, "GET", base+"/v1/executions/"+id, nil, &e) == http.StatusOK && api.Terminal(e.State)
	}, 20*time.Second, 50*time.Millisecond, "execution %s did not end: %+v", id, e)
	return e
}

func TestPerformHTTPJobRecordsTheAnswer(t *testing.T) {
	fires := make(chan protocol.Fire, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f protocol.Fire
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fires <- f
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom")
			return
		}
		io.WriteString(w, "done "+r.Header.Get("Idempotency-Key"))
	}))
	defer hook.Close()
	s := startServer(t, t.TempDir())
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	id := triggerOnce(t, base, performJob("hook-ok", api.Perform{Kind: api.PerformHTTP, URL: hook.URL + "/ok"}))
	e := waitEnded(t, base, id)
	require.Equal(t, api.ExecSucceeded, e.State)
	require.Equal(t, http.StatusOK, e.HTTPStatus)
	require.Equal(t, "done "+id+"/1", e.Output)
	require.Equal(t, "@http", e.Client)
	require.NotNil(t, e.StartedAt)
	f := <-fires
	require.Equal(t, id, f.ExecID)
	require.Equal(t, "demo/hook-ok", f.Job)
	require.Equal(t, api.PerformHTTP, f.Perform.Kind)

	id = triggerOnce(t, base, performJob("hook-fail", api.Perform{Kind: api.PerformHTTP, URL: hook.URL + "/fail"}))
	e = waitEnded(t, base, id)
	require.Equal(t, api.ExecFailed, e.State)
	require.Equal(t, http.StatusInternalServerError, e.HTTPStatus)
	require.Equal(t, "boom", e.Output)
	require.Equal(t, "http status 500 Internal Server Error", e.Error)
}

func TestPerformKafkaJobRunsOnAKafkaWorker(t *testing.T) {
	const topic = "swarm-fires"
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	require.NoError(t, err)
	defer k.Close()
	s := startServer(t, t.TempDir())
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	w, err := client.New(client.Config{
		Servers:      []string{s.HTTPAddr()},
		ID:           "kw1",
		KafkaBrokers: k.ListenAddrs(),
		KafkaTopic:   topic,
		DrainTimeout: 5 * time.Second,
		Logger:       testLogger(t),
	})
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	defer w.Stop()

	job := performJob("via-kafka", api.Perform{Kind: api.PerformKafka, Brokers: k.ListenAddrs(), Topic: topic})
	job.Executor = api.Executor{Kind: api.ExecutorProcess, Command: "echo", Args: []string{"hello-kafka"}}
	id := triggerOnce(t, base, job)

	e := waitEnded(t, base, id)
	require.Equal(t, api.ExecSucceeded, e.State, "error: %s", e.Error)
	require.Equal(t, "hello-kafka\n", e.Output)
	require.Equal(t, "kw1", e.Client, "the worker that ran it, not the producer")
	require.NotNil(t, e.ExitCode)
	require.Zero(t, *e.ExitCode)
	require.Zero(t, e.HTTPStatus)
}
