package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

func TestMain(m *testing.M) {
	// Tables show local time; pin it so their text is the same everywhere.
	time.Local = time.UTC
	goleak.VerifyTestMain(m)
}

// fakeNow is the instant the fake API computes next fire times from.
var fakeNow = time.Date(2026, 12, 3, 17, 5, 0, 0, time.UTC)

// fakeAPI is an in-memory server of the REST contract in docs/api.md,
// enough of it for the CLI's tests.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	token     string // required as a bearer token when set
	jobs      map[string]api.Job
	execs     map[string][]api.Execution // job key -> newest first
	logs      map[string]string
	killed    []string
	calendars map[string]scheduler.CalendarSpec
	clients   []api.Client
	cluster   api.Cluster
	writes    []string // "PUT g/n", "POST g/n", ...
	queries   []string // raw queries of list requests
	lastBody  []byte   // body of the last preview
	preview   []byte   // the last preview answer, as sent
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		t: t, jobs: map[string]api.Job{}, execs: map[string][]api.Execution{}, logs: map[string]string{},
		calendars: map[string]scheduler.CalendarSpec{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", f.createJob)
	mux.HandleFunc("GET /v1/jobs", f.listJobs)
	mux.HandleFunc("GET /v1/jobs/{group}/{name}", f.getJob)
	mux.HandleFunc("PUT /v1/jobs/{group}/{name}", f.putJob)
	mux.HandleFunc("DELETE /v1/jobs/{group}/{name}", f.deleteJob)
	mux.HandleFunc("POST /v1/jobs/{group}/{name}/{action}", f.jobAction)
	mux.HandleFunc("GET /v1/jobs/{group}/{name}/executions", f.listExecutions)
	mux.HandleFunc("GET /v1/executions/{id}", f.getExecution)
	mux.HandleFunc("GET /v1/executions/{id}/logs", f.executionLogs)
	mux.HandleFunc("POST /v1/executions/{id}/kill", f.killExecution)
	mux.HandleFunc("POST /v1/triggers:preview", f.previewTrigger)
	mux.HandleFunc("POST /v1/calendars", f.createCalendar)
	mux.HandleFunc("GET /v1/calendars", f.listCalendars)
	mux.HandleFunc("GET /v1/calendars/{name}", f.getCalendar)
	mux.HandleFunc("DELETE /v1/calendars/{name}", f.deleteCalendar)
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) { f.reply(w, 200, f.cluster) })
	mux.HandleFunc("GET /v1/clients", f.listClients)
	mux.HandleFunc("GET /v1/version", func(w http.ResponseWriter, r *http.Request) {
		f.reply(w, 200, api.Version{Version: "9.9.9", Protocol: 1})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
			f.fail(w, &api.Error{Code: api.CodeUnauthenticated, Message: "missing or wrong token", Status: 401})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	require.NoError(f.t, json.NewEncoder(w).Encode(v))
}

func (f *fakeAPI) fail(w http.ResponseWriter, e *api.Error) {
	f.reply(w, e.Status, api.ErrorBody{Error: e})
}

// decode reads a JSON body strictly, as the server does.
func (f *fakeAPI) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.fail(w, api.Invalid("", "bad JSON: %v", err))
		return false
	}
	return true
}

// normalize checks a job and fills the defaults the server promises
// (docs/api.md), independently of the CLI's own code.
func normalize(j *api.Job) *api.Error {
	for field, v := range map[string]string{"group": j.Group, "name": j.Name} {
		if err := api.CheckName(field, v); err != nil {
			return api.AsError(err)
		}
	}
	switch {
	case j.Trigger.Kind == "":
		return api.Invalid("trigger.kind", "is required")
	case j.Trigger.Kind == scheduler.KindCron && len(strings.Fields(j.Trigger.Cron)) < 6:
		return api.Invalid("trigger.cron", "%q needs at least 6 fields", j.Trigger.Cron)
	case j.Executor.Kind != api.ExecutorHandler && j.Executor.Command == "":
		return api.Invalid("executor.command", "is required for a process executor")
	}
	j.ID, j.State, j.Version, j.NextFireAt = "", "", 0, nil
	if j.Trigger.TimeZone == "" {
		j.Trigger.TimeZone = "UTC"
	}
	if j.Trigger.Priority == 0 {
		j.Trigger.Priority = 5
	}
	if j.Trigger.Kind == scheduler.KindSimple && j.Trigger.RepeatCount == nil {
		forever := int64(-1)
		j.Trigger.RepeatCount = &forever
	}
	defaults := []struct {
		dst *string
		def string
	}{
		{&j.Executor.Kind, "process"}, {&j.Perform.Kind, "websocket"}, {&j.ClientGroup, "default"},
		{&j.Routing, "any"}, {&j.Concurrency, "allow"},
	}
	for _, d := range defaults {
		if *d.dst == "" {
			*d.dst = d.def
		}
	}
	return nil
}

func (f *fakeAPI) store(j api.Job, version uint64) api.Job {
	next := fakeNow.Add(time.Hour)
	j.ID, j.State, j.Version, j.NextFireAt = "id-"+j.Key(), api.JobNormal, version, &next
	f.jobs[j.Key()] = j
	return j
}

func (f *fakeAPI) createJob(w http.ResponseWriter, r *http.Request) {
	var j api.Job
	if !f.decode(w, r, &j) {
		return
	}
	if e := normalize(&j); e != nil {
		f.fail(w, e)
		return
	}
	if _, ok := f.jobs[j.Key()]; ok {
		f.fail(w, api.AlreadyExists("job %s already exists", j.Key()))
		return
	}
	f.writes = append(f.writes, "POST "+j.Key())
	f.reply(w, 201, f.store(j, 1))
}

func (f *fakeAPI) listJobs(w http.ResponseWriter, r *http.Request) {
	f.queries = append(f.queries, r.URL.RawQuery)
	q := r.URL.Query()
	var keys []string
	for k, j := range f.jobs {
		if q.Get("group") == "" || j.Group == q.Get("group") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	page, next := paginate(keys, q.Get("cursor"), q.Get("limit"), func(k string) string { return k })
	list := api.JobList{Jobs: []api.Job{}, NextCursor: next}
	for _, k := range page {
		list.Jobs = append(list.Jobs, f.jobs[k])
	}
	f.reply(w, 200, list)
}

// paginate serves items after the cursor (the last key served).
func paginate[T any](items []T, cursor, limitText string, key func(T) string) ([]T, string) {
	limit := 100
	if n, err := strconv.Atoi(limitText); err == nil && n > 0 {
		limit = n
	}
	start := 0
	if cursor != "" {
		start = slices.IndexFunc(items, func(it T) bool { return key(it) == cursor }) + 1
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = key(items[end-1])
	}
	return items[start:end], next
}

func (f *fakeAPI) getJob(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("group") + "/" + r.PathValue("name")
	j, ok := f.jobs[key]
	if !ok {
		f.fail(w, api.NotFound("job %s not found", key))
		return
	}
	f.reply(w, 200, j)
}

func (f *fakeAPI) putJob(w http.ResponseWriter, r *http.Request) {
	var j api.Job
	if !f.decode(w, r, &j) {
		return
	}
	key := r.PathValue("group") + "/" + r.PathValue("name")
	if j.Key() != key {
		f.fail(w, api.Invalid("name", "body is job %s, path is %s", j.Key(), key))
		return
	}
	if e := normalize(&j); e != nil {
		f.fail(w, e)
		return
	}
	old, exists := f.jobs[key]
	if !exists && r.URL.Query().Get("create") != "true" {
		f.fail(w, api.NotFound("job %s not found", key))
		return
	}
	f.writes = append(f.writes, "PUT "+key)
	status := 201
	if exists {
		status = 200
	}
	f.reply(w, status, f.store(j, old.Version+1))
}

func (f *fakeAPI) deleteJob(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("group") + "/" + r.PathValue("name")
	if _, ok := f.jobs[key]; !ok {
		f.fail(w, api.NotFound("job %s not found", key))
		return
	}
	delete(f.jobs, key)
	f.writes = append(f.writes, "DELETE "+key)
	w.WriteHeader(204)
}

func (f *fakeAPI) jobAction(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("group") + "/" + r.PathValue("name")
	j, ok := f.jobs[key]
	if !ok {
		f.fail(w, api.NotFound("job %s not found", key))
		return
	}
	switch r.PathValue("action") {
	case "pause":
		j.State = api.JobPaused
	case "resume":
		j.State = api.JobNormal
	case "trigger":
		f.reply(w, 202, api.TriggerResponse{Executions: []string{"exec-" + j.Name + "-1", "exec-" + j.Name + "-2"}})
		return
	default:
		f.fail(w, &api.Error{Code: api.CodeNotFound, Message: "no such action", Status: 404})
		return
	}
	f.jobs[key] = j
	f.reply(w, 200, j)
}

func (f *fakeAPI) listExecutions(w http.ResponseWriter, r *http.Request) {
	f.queries = append(f.queries, r.URL.RawQuery)
	key := r.PathValue("group") + "/" + r.PathValue("name")
	if _, ok := f.jobs[key]; !ok {
		f.fail(w, api.NotFound("job %s not found", key))
		return
	}
	q := r.URL.Query()
	page, next := paginate(f.execs[key], q.Get("cursor"), q.Get("limit"), func(e api.Execution) string { return e.ID })
	f.reply(w, 200, api.ExecutionList{Executions: page, NextCursor: next})
}

func (f *fakeAPI) findExecution(id string) (api.Execution, bool) {
	for _, list := range f.execs {
		for _, e := range list {
			if e.ID == id {
				return e, true
			}
		}
	}
	return api.Execution{}, false
}

func (f *fakeAPI) getExecution(w http.ResponseWriter, r *http.Request) {
	e, ok := f.findExecution(r.PathValue("id"))
	if !ok {
		f.fail(w, api.NotFound("execution %s not found", r.PathValue("id")))
		return
	}
	f.reply(w, 200, e)
}

func (f *fakeAPI) executionLogs(w http.ResponseWriter, r *http.Request) {
	text, ok := f.logs[r.PathValue("id")]
	if !ok {
		f.fail(w, api.NotFound("execution %s not found", r.PathValue("id")))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = fmt.Fprintf(w, "%sfollow=%s\n", text, r.URL.Query().Get("follow"))
}

func (f *fakeAPI) killExecution(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.findExecution(r.PathValue("id")); !ok {
		f.fail(w, api.NotFound("execution %s not found", r.PathValue("id")))
		return
	}
	f.killed = append(f.killed, r.PathValue("id"))
	w.WriteHeader(202)
}

// previewTrigger answers hourly fire times from "from" (or fakeNow), or
// 400 for a cron expression with too few fields.
func (f *fakeAPI) previewTrigger(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.lastBody = body
	var req api.PreviewRequest
	if err := json.Unmarshal(body, &req); err != nil {
		f.fail(w, api.Invalid("", "bad JSON: %v", err))
		return
	}
	if req.Trigger.Kind == scheduler.KindCron && len(strings.Fields(req.Trigger.Cron)) < 6 {
		f.fail(w, api.Invalid("trigger.cron", "%q needs at least 6 fields", req.Trigger.Cron))
		return
	}
	zone := orDefault(req.Trigger.TimeZone, "UTC")
	loc, err := time.LoadLocation(zone)
	if err != nil {
		f.fail(w, api.Invalid("trigger.time_zone", "unknown zone %q", zone))
		return
	}
	from := fakeNow
	if req.From != nil {
		from = *req.From
	}
	resp := api.PreviewResponse{TimeZone: zone}
	for i := range req.Count {
		ft := from.Add(time.Duration(i+1) * time.Hour).UTC()
		resp.FireTimes = append(resp.FireTimes, ft)
		resp.LocalTimes = append(resp.LocalTimes, ft.In(loc).Format(time.RFC3339))
	}
	f.preview, _ = json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(f.preview)
}

func (f *fakeAPI) createCalendar(w http.ResponseWriter, r *http.Request) {
	var c scheduler.CalendarSpec
	if !f.decode(w, r, &c) {
		return
	}
	if _, ok := f.calendars[c.Name]; ok {
		f.fail(w, &api.Error{Code: api.CodeAlreadyExists, Message: "calendar " + c.Name + " already exists", Status: 409})
		return
	}
	f.calendars[c.Name] = c
	f.reply(w, 201, c)
}

func (f *fakeAPI) listCalendars(w http.ResponseWriter, r *http.Request) {
	list := api.CalendarList{Calendars: []scheduler.CalendarSpec{}}
	for _, name := range slices.Sorted(maps.Keys(f.calendars)) {
		list.Calendars = append(list.Calendars, f.calendars[name])
	}
	f.reply(w, 200, list)
}

func (f *fakeAPI) getCalendar(w http.ResponseWriter, r *http.Request) {
	c, ok := f.calendars[r.PathValue("name")]
	if !ok {
		f.fail(w, api.NotFound("calendar %s not found", r.PathValue("name")))
		return
	}
	f.reply(w, 200, c)
}

func (f *fakeAPI) deleteCalendar(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.calendars[r.PathValue("name")]; !ok {
		f.fail(w, api.NotFound("calendar %s not found", r.PathValue("name")))
		return
	}
	delete(f.calendars, r.PathValue("name"))
	w.WriteHeader(204)
}

func (f *fakeAPI) listClients(w http.ResponseWriter, r *http.Request) {
	f.queries = append(f.queries, r.URL.RawQuery)
	list := api.ClientList{Clients: []api.Client{}}
	for _, c := range f.clients {
		if g := r.URL.Query().Get("group"); g == "" || c.Group == g {
			list.Clients = append(list.Clients, c)
		}
	}
	f.reply(w, 200, list)
}

// with runs fn with the fake's state locked.
func (f *fakeAPI) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeAPI) job(t *testing.T, key string) api.Job {
	t.Helper()
	var j api.Job
	var ok bool
	f.with(func() { j, ok = f.jobs[key] })
	require.True(t, ok, "the server holds no job %s", key)
	return j
}

func (f *fakeAPI) takeWrites() []string {
	var w []string
	f.with(func() { w, f.writes = f.writes, nil })
	return w
}

// result is what one run of the CLI printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// run runs the swarm command line with args against the fake.
func (f *fakeAPI) run(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, "", append([]string{"--server", f.srv.URL}, args...)...)
}

// runCLI runs the root command as main does, with stdin.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return result{stdout: out.String(), stderr: errOut.String(), err: err}
}

// ok fails the test unless the run succeeded, and returns its stdout.
func (r result) ok(t *testing.T) string {
	t.Helper()
	require.NoError(t, r.err, "stderr: %s", r.stderr)
	return r.stdout
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

func TestEveryCommandHasAShortDescriptionAndAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			require.NotEmpty(t, sub.Short, "%s has no short description", sub.CommandPath())
			require.NotEmpty(t, sub.Example, "%s has no example", sub.CommandPath())
			seen++
			walk(sub)
		}
	}
	walk(newRootCmd())
	require.Greater(t, seen, 30, "the walk found too few commands")

	help := runCLI(t, "", "job", "apply", "--help").ok(t)
	require.Contains(t, help, "Examples:\n  swarm job apply -f jobs/")
}

// TestShellCompletionIsThere checks cobra's completion command is present
// before Execute (it writes its script to the stdout it saw when added, so
// the test does not run it).
func TestShellCompletionIsThere(t *testing.T) {
	comp, _, err := newRootCmd().Find([]string{"completion", "zsh"})
	require.NoError(t, err)
	require.Equal(t, "zsh", comp.Name())

	help := runCLI(t, "", "completion", "bash", "--help").ok(t)
	require.Contains(t, help, "source <(swarm completion bash)")
}

func TestConnectionRefusedSaysWhatToDo(t *testing.T) {
	addr := closedAddr(t)
	r := runCLI(t, "", "--server", addr, "job", "list")
	require.Error(t, r.err)
	require.Contains(t, r.err.Error(), "cannot reach swarm server at "+addr+": is it running? start one with `swarm server` or pass --server")
	require.Contains(t, r.err.Error(), "connection refused")
}

func TestServerListFailsOver(t *testing.T) {
	f := newFakeAPI(t)
	f.with(func() { f.store(api.Job{Group: "g", Name: "a"}, 1) })
	out := runCLI(t, "", "--server", closedAddr(t)+", "+f.srv.URL, "job", "list").ok(t)
	require.Contains(t, out, "g/a")
}

func TestTokenIsSentAsBearer(t *testing.T) {
	f := newFakeAPI(t)
	f.with(func() { f.token = "t0ken" })

	r := f.run(t, "cluster", "status")
	require.Error(t, r.err)
	require.Contains(t, r.err.Error(), "unauthenticated: missing or wrong token (pass --token or set $SWARM_TOKEN)")

	f.run(t, "--token", "t0ken", "cluster", "status").ok(t)
}

func TestBadOutputFormatIsRefusedBeforeAnyRequest(t *testing.T) {
	r := runCLI(t, "", "--server", closedAddr(t), "-o", "xml", "job", "list")
	require.EqualError(t, r.err, `--output: "xml" is not one of table, json, yaml`)
}

func TestBadServerAddressIsNamed(t *testing.T) {
	r := runCLI(t, "", "--server", "ftp://x:1", "job", "list")
	require.ErrorContains(t, r.err, "--server: ")
	require.ErrorContains(t, r.err, "scheme must be http or https")
}

func TestExplainAPIErrors(t *testing.T) {
	cases := []struct {
		err  *api.Error
		want string
	}{
		{api.Invalid("trigger.cron", "bad"), "invalid trigger.cron: bad"},
		{api.Invalid("", "bad JSON"), "invalid request: bad JSON"},
		{&api.Error{Message: "no", Status: 403}, "forbidden: no"},
		{&api.Error{Message: "gone", Status: 404}, "not found: gone"},
		{&api.Error{Message: "big", Status: 413}, "too large: big"},
		{&api.Error{Message: "electing", Status: 503}, "server unavailable: electing (try again shortly)"},
		{&api.Error{Message: "boom", Status: 500}, "server error (500): boom"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, explainAPIError(tc.err))
	}
}

func TestJobKeyResolve(t *testing.T) {
	cases := []struct {
		args        []string
		group, name string
		wantErr     string
	}{
		{args: []string{"billing/nightly"}, group: "billing", name: "nightly"},
		{args: []string{"billing"}, wantErr: "is not GROUP/NAME"},
		{args: []string{"/x"}, wantErr: "is not GROUP/NAME"},
		{group: "billing", name: "nightly"},
		{wantErr: "which job?"},
		{args: []string{"a/b"}, group: "a", wantErr: "not both"},
	}
	for _, tc := range cases {
		k := jobKey{}
		if len(tc.args) == 0 || tc.wantErr != "" {
			k = jobKey{group: tc.group, name: tc.name}
		}
		g, n, err := k.resolve(tc.args)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr, "args %v", tc.args)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.group+"/"+tc.name, g+"/"+n)
	}
}
