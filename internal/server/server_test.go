package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// startServer runs a real single-node server on loopback ports.
func startServer(t *testing.T, dir string, opts ...func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		DataDir:     dir,
		HTTPAddr:    "127.0.0.1:0",
		RaftAddr:    "127.0.0.1:0",
		Shards:      2,
		Replicas:    1,
		ShardTimers: shard.FastTimers,
		MetaTimers:  shard.FastTimers,
		Heartbeat:   time.Second,
		Logger:      testLogger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := server.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Start(ctx))
	return s
}

// worker is a minimal protocol client: it acks every fire and reports
// success with output "hello".
type worker struct {
	t     *testing.T
	conn  *websocket.Conn
	fires chan *protocol.Fire
	mu    sync.Mutex
	wg    sync.WaitGroup

	// refuse, when set, names why a fire is refused ("" runs it); the
	// refused fires go to refused.
	refuse  func(*protocol.Fire) string
	refused chan *protocol.Fire
}

func dialWorker(t *testing.T, httpAddr, id string) *worker {
	return dialRefusingWorker(t, httpAddr, id, nil)
}

// dialRefusingWorker is dialWorker with a worker that refuses the fires
// refuse names a reason for.
func dialRefusingWorker(t *testing.T, httpAddr, id string, refuse func(*protocol.Fire) string) *worker {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+httpAddr+"/v1/connect", nil)
	require.NoError(t, err)
	w := &worker{t: t, conn: conn, fires: make(chan *protocol.Fire, 1024), refuse: refuse, refused: make(chan *protocol.Fire, 1024)}
	w.send(&protocol.Message{Type: protocol.TypeHello, Hello: &protocol.Hello{Protocol: protocol.Version, ID: id, Group: "default", Capacity: 8}})
	var m protocol.Message
	require.NoError(t, conn.ReadJSON(&m))
	require.Equal(t, protocol.TypeWelcome, m.Type)
	w.wg.Add(1)
	go w.loop()
	t.Cleanup(w.close)
	return w
}

func (w *worker) send(m *protocol.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conn.WriteJSON(m)
}

func (w *worker) loop() {
	defer w.wg.Done()
	for {
		var m protocol.Message
		if err := w.conn.ReadJSON(&m); err != nil {
			return
		}
		if m.Type == protocol.TypeHeartbeat {
			w.send(&protocol.Message{Type: protocol.TypeHeartbeat, Heartbeat: &protocol.Heartbeat{}})
			continue
		}
		if m.Type != protocol.TypeFire {
			continue
		}
		f := m.Fire
		if w.refuse != nil {
			if reason := w.refuse(f); reason != "" {
				w.send(&protocol.Message{Type: protocol.TypeAck, Ack: &protocol.Ack{ExecID: f.ExecID, Attempt: f.Attempt, Reason: reason}})
				w.refused <- f
				continue
			}
		}
		now := time.Now()
		w.send(&protocol.Message{Type: protocol.TypeAck, Ack: &protocol.Ack{ExecID: f.ExecID, Attempt: f.Attempt, Accepted: true, StartedAt: now}})
		code := 0
		w.send(&protocol.Message{Type: protocol.TypeResult, Result: &protocol.Result{
			ExecID: f.ExecID, Attempt: f.Attempt, State: api.ExecSucceeded, ExitCode: &code, Output: "hello\n",
			StartedAt: now, FinishedAt: time.Now(),
		}})
		w.fires <- f
	}
}

func (w *worker) close() {
	w.conn.Close()
	w.wg.Wait()
}

var testHTTP = &http.Client{Timeout: 20 * time.Second}

func do(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	resp, err := testHTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(data) > 0 {
		require.NoError(t, json.Unmarshal(data, out), string(data))
	}
	return resp.StatusCode
}

func cronJob(name string) api.Job {
	return api.Job{
		Group:    "demo",
		Name:     name,
		Trigger:  schedulerSpec("* * * * * ?"),
		Executor: api.Executor{Kind: api.ExecutorProcess, Command: "echo", Args: []string{"hello"}},
	}
}

// waitFires collects fires of job until n distinct scheduled seconds came.
func waitFires(t *testing.T, w *worker, job string, n int) map[time.Time]int {
	t.Helper()
	seen := map[time.Time]int{}
	deadline := time.After(15 * time.Second)
	for len(seen) < n {
		select {
		case f := <-w.fires:
			if f.Job == job {
				seen[f.ScheduledAt]++
			}
		case <-deadline:
			t.Fatalf("only %d of %d fires of %s within 15s", len(seen), n, job)
		}
	}
	return seen
}

func TestServerFiresACronJobOnAWorker(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()

	var created api.Job
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("every-second"), &created))
	require.NotEmpty(t, created.ID)
	require.Equal(t, api.JobNormal, created.State)
	require.Equal(t, "default", created.ClientGroup)
	require.NotNil(t, created.NextFireAt)

	seen := waitFires(t, w, "demo/every-second", 3)
	for at, n := range seen {
		require.Equal(t, 1, n, "slot %s fired more than once", at)
		require.Zero(t, at.Nanosecond(), "cron fires on whole seconds")
	}

	// The results flow back, batched, and are listed newest first.
	require.Eventually(t, func() bool {
		var list api.ExecutionList
		do(t, "GET", base+"/v1/jobs/demo/every-second/executions", nil, &list)
		ok := 0
		for _, e := range list.Executions {
			if e.State == api.ExecSucceeded && e.Output == "hello\n" && e.Client == "w1" {
				ok++
			}
		}
		return ok >= 2
	}, 10*time.Second, 50*time.Millisecond)

	var list api.ExecutionList
	do(t, "GET", base+"/v1/jobs/demo/every-second/executions?limit=2", nil, &list)
	require.Len(t, list.Executions, 2)
	require.NotEmpty(t, list.NextCursor)
	require.True(t, list.Executions[0].ScheduledAt.After(list.Executions[1].ScheduledAt))

	var one api.Execution
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/executions/"+list.Executions[0].ID, nil, &one))
	require.Equal(t, list.Executions[0].ID, one.ID)
}

func TestServerRestartKeepsJobsAndFiresAgain(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	base := "http://" + s.HTTPAddr()
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("survivor"), nil))
	s.Stop()

	s = startServer(t, dir)
	defer s.Stop()
	base = "http://" + s.HTTPAddr()
	var got api.Job
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/jobs/demo/survivor", nil, &got))
	require.Equal(t, "demo", got.Group)

	w := dialWorker(t, s.HTTPAddr(), "w1")
	waitFires(t, w, "demo/survivor", 2)
}

func TestServerRejectsBadJobsNamingTheField(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	cases := []struct {
		name  string
		body  string
		field string
	}{
		{"bad group", `{"group":"-x","name":"a","trigger":{"kind":"simple","interval":"1s"},"executor":{"command":"true"}}`, "group"},
		{"bad cron", `{"group":"g","name":"a","trigger":{"kind":"cron","cron":"0 0 25 * * ?"},"executor":{"command":"true"}}`, "trigger.cron"},
		{"unknown field", `{"group":"g","name":"a","tigger":{}}`, "tigger"},
		{"no command", `{"group":"g","name":"a","trigger":{"kind":"simple","interval":"1s"},"executor":{"kind":"process"}}`, "executor.command"},
		{"control char", `{"group":"g","name":"a","trigger":{"kind":"simple","interval":"1s"},"executor":{"command":"true","args":["a\u0007"]}}`, "executor.args[0]"},
		{"wrong type", `{"group":"g","name":"a","sharding_count":"four"}`, "sharding_count"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(tc.body))
			require.NoError(t, err)
			defer resp.Body.Close()
			var body api.ErrorBody
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Equal(t, api.CodeInvalid, body.Error.Code)
			require.Equal(t, tc.field, body.Error.Field, body.Error.Message)
		})
	}

	big := fmt.Sprintf(`{"group":"g","name":"a","description":%q}`, strings.Repeat("x", api.MaxJobBytes))
	resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(big))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	var dup api.ErrorBody
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("dup"), nil))
	require.Equal(t, http.StatusConflict, do(t, "POST", base+"/v1/jobs", cronJob("dup"), &dup))
	require.Equal(t, api.CodeAlreadyExists, dup.Error.Code)

	require.Equal(t, http.StatusNotFound, do(t, "GET", base+"/v1/jobs/g/missing", nil, nil))
	require.Equal(t, http.StatusMethodNotAllowed, do(t, "PATCH", base+"/v1/jobs/g/a", nil, nil))
}

func TestServerPagesJobsAcrossShards(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	base := "http://" + s.HTTPAddr()
	for i := range 7 {
		j := cronJob(fmt.Sprintf("job-%02d", i))
		j.Trigger = schedulerSpec("0 0 0 1 1 ? 2099")
		require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", j, nil))
	}
	var keys []string
	cursor := ""
	for range 10 {
		var page api.JobList
		require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/jobs?group=demo&limit=3&cursor="+cursor, nil, &page))
		for _, j := range page.Jobs {
			keys = append(keys, j.Name)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Equal(t, []string{"job-00", "job-01", "job-02", "job-03", "job-04", "job-05", "job-06"}, keys)
	require.Equal(t, http.StatusBadRequest, do(t, "GET", base+"/v1/jobs?limit=0", nil, nil))
}

// TestRefusedFireGoesElsewhereAndNeverBack: a worker's refusal of an
// attempt is final (docs/protocol.md), "capacity" included, so the server
// gives the fire to another worker and never asks the refuser again for
// that attempt.
func TestRefusedFireGoesElsewhereAndNeverBack(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	full := dialRefusingWorker(t, s.HTTPAddr(), "full", func(*protocol.Fire) string { return "capacity" })
	dialWorker(t, s.HTTPAddr(), "ok")
	base := "http://" + s.HTTPAddr()

	// consistent_hash sends a job to the same worker every time: for the
	// jobs whose hash picks "full", only the refusal moves the fire.
	for i := range 8 {
		job := performJob(fmt.Sprintf("refused-%d", i), api.Perform{})
		job.Routing = api.RoutingConsistentHash
		require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", job, nil))
		e := fireNow(t, base, "demo/"+job.Name)
		require.Equal(t, api.ExecSucceeded, e.State)
		require.Equal(t, "ok", e.Client)
		require.Equal(t, 1, e.Attempt, "a refusal is not a failed attempt")
	}

	asked := map[string]int{}
	for len(full.refused) > 0 {
		f := <-full.refused
		asked[fmt.Sprintf("%s/%d", f.ExecID, f.Attempt)]++
	}
	require.NotEmpty(t, asked, "no job hashed to the full worker")
	for k, n := range asked {
		require.Equal(t, 1, n, "%s was offered to the worker that refused it %d times", k, n)
	}
}
