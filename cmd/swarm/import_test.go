package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
)

// batchFake serves POST /v1/jobs:batch the way docs/api.md describes it:
// per-item results in request order, create failing on an existing key,
// upsert replacing it, a bad name failing only its own item.
type batchFake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	jobs     map[string]api.Job
	requests []api.BatchRequest
	inFlight int
	maxIn    int

	// failWith, when set, answers any batch holding a job of this name
	// with a whole-request error of status 500.
	failWith string

	// second, when set, makes the first request wait (up to 5 s) for a
	// second one to arrive, to prove requests run in parallel.
	second chan struct{}
	once   sync.Once
}

func newBatchFake(t *testing.T) *batchFake {
	t.Helper()
	f := &batchFake{t: t, jobs: map[string]api.Job{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs:batch", f.batch)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *batchFake) batch(w http.ResponseWriter, r *http.Request) {
	var req api.BatchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeFakeError(w, api.Invalid("", "bad JSON: %v", err))
		return
	}
	if err := req.Validate(); err != nil {
		writeFakeError(w, api.AsError(err))
		return
	}
	f.enter()
	defer f.leave()

	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	for _, j := range req.Jobs {
		if f.failWith != "" && j.Name == f.failWith {
			writeFakeError(w, &api.Error{Code: "internal", Message: "the store is on fire", Status: 500})
			return
		}
	}
	res := api.BatchResponse{}
	for _, j := range req.Jobs {
		res.Results = append(res.Results, f.put(j, req.Mode))
	}
	w.Header().Set("Content-Type", "application/json")
	require.NoError(f.t, json.NewEncoder(w).Encode(res))
}

func (f *batchFake) put(j api.Job, mode string) api.BatchResult {
	key := j.Key()
	if err := api.CheckName("name", j.Name); err != nil {
		e := api.AsError(err)
		return api.BatchResult{Key: key, Status: e.Status, Error: e}
	}
	_, exists := f.jobs[key]
	if exists && mode != api.BatchUpsert {
		e := api.AlreadyExists("job %s already exists", key)
		return api.BatchResult{Key: key, Status: e.Status, Error: e}
	}
	f.jobs[key] = j
	if exists {
		return api.BatchResult{Key: key, Status: http.StatusOK}
	}
	return api.BatchResult{Key: key, Status: http.StatusCreated}
}

// enter counts a request in flight; the first waits for a second when
// the test asks for it.
func (f *batchFake) enter() {
	f.mu.Lock()
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	second := f.second
	if second != nil && f.inFlight >= 2 {
		f.once.Do(func() { close(second) })
	}
	f.mu.Unlock()
	if second != nil {
		select {
		case <-second:
		case <-time.After(5 * time.Second):
		}
	}
}

func (f *batchFake) leave() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

func writeFakeError(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(api.ErrorBody{Error: e})
}

// state copies what the fake holds, under its lock.
func (f *batchFake) state() (map[string]api.Job, []api.BatchRequest, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	jobs := map[string]api.Job{}
	for k, v := range f.jobs {
		jobs[k] = v
	}
	return jobs, append([]api.BatchRequest(nil), f.requests...), f.maxIn
}

func jobLine(name string) string {
	return fmt.Sprintf(`{"group":"imp","name":%q,"trigger":{"kind":"cron","cron":"0 * * * * ?"},"executor":{"command":"true"}}`, name)
}

func (f *batchFake) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLI(t, stdin, append([]string{"--server", f.srv.URL, "job", "import"}, args...)...)
}

func TestJobImportSendsBatchesAndSummarises(t *testing.T) {
	f := newBatchFake(t)
	var lines []string
	for i := range 7 {
		lines = append(lines, jobLine(fmt.Sprintf("j%d", i)))
	}
	path := writeFile(t, t.TempDir(), "jobs.jsonl", strings.Join(lines, "\n")+"\n")

	out := f.run(t, "", "--batch", "3", path).ok(t)

	require.Regexp(t, `^imported 7 jobs in [0-9.]+ s: 7 created, 0 updated, 0 failed\n$`, out)
	jobs, requests, _ := f.state()
	require.Len(t, jobs, 7)
	require.Len(t, requests, 3, "7 jobs in batches of 3")
	sizes := []int{}
	for _, r := range requests {
		sizes = append(sizes, len(r.Jobs))
		require.Equal(t, api.BatchCreate, r.Mode)
	}
	require.ElementsMatch(t, []int{3, 3, 1}, sizes)
}

func TestJobImportCountsBadLinesAndFailedJobsByLine(t *testing.T) {
	f := newBatchFake(t)
	f.jobs["imp/taken"] = api.Job{Group: "imp", Name: "taken"}
	input := strings.Join([]string{
		jobLine("a"),                // 1
		`{"group": "imp", "name":`,  // 2: not JSON
		"",                          // 3: blank, skipped
		jobLine("bad name"),         // 4: the server refuses the name
		jobLine("taken"),            // 5: exists, mode create
		`{"group":"imp","nme":"x"}`, // 6: unknown field
		jobLine("b") + " {}",        // 7: two values
		"   ",                       // 8: blank
		jobLine("c"),                // 9
	}, "\n")

	r := f.run(t, input, "--batch", "2", "-")

	require.EqualError(t, r.err, "5 of 7 jobs failed")
	require.Equal(t, "imported 7 jobs in", r.stdout[:len("imported 7 jobs in")])
	require.Contains(t, r.stdout, "2 created, 0 updated, 5 failed\n")
	errLines := r.stdout[strings.Index(r.stdout, "\n")+1:]
	require.Regexp(t, `^line 2: not a job: unexpected EOF
line 4: imp/bad name: name: "bad name" must match .*
line 5: imp/taken: job imp/taken already exists
line 6: not a job: json: unknown field "nme"
line 7: not a job: more than one JSON value on the line
$`, errLines)
	jobs, _, _ := f.state()
	require.Contains(t, jobs, "imp/a")
	require.Contains(t, jobs, "imp/c")
	require.NotContains(t, r.stderr, "\r", "no progress bar when stdout is not a terminal")
}

func TestJobImportUpsertReplacesExistingJobs(t *testing.T) {
	f := newBatchFake(t)
	f.jobs["imp/old"] = api.Job{Group: "imp", Name: "old", Description: "before"}
	input := jobLine("old") + "\n" + jobLine("new") + "\n"

	out := f.run(t, input, "--mode", "upsert", "-o", "json", "-").ok(t)

	var sum importSummary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, 2, sum.Lines)
	require.Equal(t, 1, sum.Created)
	require.Equal(t, 1, sum.Updated)
	require.Zero(t, sum.Failed)
	require.Empty(t, sum.Errors)
	jobs, requests, _ := f.state()
	require.Equal(t, api.BatchUpsert, requests[0].Mode)
	require.Empty(t, jobs["imp/old"].Description, "replaced by the line's job")
}

func TestJobImportFailsEveryJobOfARefusedBatch(t *testing.T) {
	f := newBatchFake(t)
	f.failWith = "boom"
	input := strings.Join([]string{jobLine("a"), jobLine("boom"), jobLine("c"), jobLine("d")}, "\n")

	r := f.run(t, input, "--batch", "2", "--parallel", "1", "-o", "json", "-")

	require.EqualError(t, r.err, "2 of 4 jobs failed")
	var sum importSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	require.Equal(t, 2, sum.Created)
	require.Equal(t, []importError{
		{Line: 1, Key: "imp/a", Code: "internal", Message: "the store is on fire"},
		{Line: 2, Key: "imp/boom", Code: "internal", Message: "the store is on fire"},
	}, sum.Errors)
}

func TestJobImportSendsBatchesInParallel(t *testing.T) {
	f := newBatchFake(t)
	f.second = make(chan struct{})
	input := jobLine("a") + "\n" + jobLine("b") + "\n"

	f.run(t, input, "--batch", "1", "--parallel", "2", "-").ok(t)

	_, _, maxIn := f.state()
	require.Equal(t, 2, maxIn, "the second batch was sent while the first was in flight")
}

func TestJobImportListsOnlyTheFirstFailures(t *testing.T) {
	f := newBatchFake(t)
	var lines []string
	for range 15 {
		lines = append(lines, "not json")
	}

	r := f.run(t, strings.Join(lines, "\n"), "-")

	require.EqualError(t, r.err, "15 of 15 jobs failed")
	require.Contains(t, r.stdout, "line 10: not a job")
	require.NotContains(t, r.stdout, "line 11:")
	require.Contains(t, r.stdout, "... and 5 more failures\n")
}

func TestJobImportRefusesBadFlags(t *testing.T) {
	f := newBatchFake(t)
	cases := map[string][]string{
		"--mode: \"merge\" is not one of create, upsert": {"--mode", "merge", "-"},
		"--batch: must be between 1 and 1000":            {"--batch", "1001", "-"},
		"--parallel: must be between 1 and 64":           {"--parallel", "0", "-"},
	}
	for want, args := range cases {
		r := f.run(t, "", args...)
		require.EqualError(t, r.err, want)
	}
	r := f.run(t, "", filepath.Join(t.TempDir(), "missing.jsonl"))
	require.ErrorContains(t, r.err, "no such file or directory")
	_, requests, _ := f.state()
	require.Empty(t, requests)
}

func TestReadLineSkipsOverlongLines(t *testing.T) {
	f := newBatchFake(t)
	long := `{"group":"imp","name":"x","description":"` + strings.Repeat("a", maxImportLine) + `"}`
	input := jobLine("a") + "\n" + long + "\n" + jobLine("b")

	r := f.run(t, input, "-")

	require.EqualError(t, r.err, "1 of 3 jobs failed")
	require.Contains(t, r.stdout, fmt.Sprintf("line 2: longer than %d bytes", maxImportLine-1))
	jobs, _, _ := f.state()
	require.Contains(t, jobs, "imp/b")
}
