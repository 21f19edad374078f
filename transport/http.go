package transport

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/scheduler"
)

// List limits.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// API serves the REST API over a Backend.
type API struct {
	backend Backend
	version string
	logger  *slog.Logger
	mux     *http.ServeMux

	// ready, when set, tells /healthz whether the server serves yet.
	ready func() error

	// metrics, when set, observes every request.
	metrics APIMetrics
}

// APIMetrics observes the requests the API answers. route is the matched
// pattern without its method ("/v1/jobs/{group}/{name}"), or "unmatched":
// never a raw path, which would make a series per job. Calls must not
// block.
type APIMetrics interface {
	Request(route, method string, status int, d time.Duration)
}

// SetMetrics makes the API report every request to m.
func (a *API) SetMetrics(m APIMetrics) { a.metrics = m }

// SetReady makes /healthz answer 503 with the error ready returns, until
// it returns nil.
func (a *API) SetReady(ready func() error) { a.ready = ready }

// NewAPI builds the handler tree. extra handlers (the WebSocket hub,
// metrics, the dashboard) are mounted by the caller with Handle.
func NewAPI(b Backend, version string, logger *slog.Logger) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &API{backend: b, version: version, logger: logger, mux: http.NewServeMux()}
	a.routes()
	return a
}

// Handle mounts an extra handler.
func (a *API) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

func (a *API) routes() {
	m := a.mux
	m.HandleFunc("POST /v1/jobs", a.createJob)
	m.HandleFunc("GET /v1/jobs", a.listJobs)
	m.HandleFunc("POST /v1/jobs:batch", a.batchJobs)
	m.HandleFunc("GET /v1/jobs/{group}/{name}", a.getJob)
	m.HandleFunc("PUT /v1/jobs/{group}/{name}", a.putJob)
	m.HandleFunc("DELETE /v1/jobs/{group}/{name}", a.deleteJob)
	m.HandleFunc("POST /v1/jobs/{group}/{name}/pause", a.pauseJob)
	m.HandleFunc("POST /v1/jobs/{group}/{name}/resume", a.resumeJob)
	m.HandleFunc("POST /v1/jobs/{group}/{name}/trigger", a.triggerJob)
	m.HandleFunc("GET /v1/jobs/{group}/{name}/executions", a.listExecutions)
	m.HandleFunc("POST /v1/groups/{group}/pause", a.pauseGroup)
	m.HandleFunc("POST /v1/groups/{group}/resume", a.pauseGroup)

	m.HandleFunc("GET /v1/executions/{id}", a.getExecution)
	m.HandleFunc("GET /v1/executions/{id}/logs", a.executionLogs)
	m.HandleFunc("POST /v1/executions/{id}/kill", a.killExecution)

	m.HandleFunc("POST /v1/triggers:preview", a.preview)

	m.HandleFunc("POST /v1/calendars", a.createCalendar)
	m.HandleFunc("GET /v1/calendars", a.listCalendars)
	m.HandleFunc("GET /v1/calendars/{name}", a.getCalendar)
	m.HandleFunc("PUT /v1/calendars/{name}", a.putCalendar)
	m.HandleFunc("DELETE /v1/calendars/{name}", a.deleteCalendar)

	m.HandleFunc("GET /v1/cluster", a.cluster)
	m.HandleFunc("GET /v1/clients", a.clients)
	m.HandleFunc("GET /v1/version", a.versionInfo)
	m.HandleFunc("GET /healthz", a.healthz)
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	if a.ready != nil {
		if err := a.ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, err.Error()+"\n")
			return
		}
	}
	io.WriteString(w, "ok\n")
}

// ServeHTTP routes the request; requests no route matches get the JSON
// error envelope like every other error.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if a.metrics != nil {
		sw := &statusWriter{ResponseWriter: w}
		defer a.observe(pattern, r.Method, sw, time.Now())
		w = sw
	}
	if pattern != "" {
		a.mux.ServeHTTP(w, r) // sets the path values Handler does not
		return
	}
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, &api.Error{Code: api.CodeMethod, Message: r.Method + " is not allowed on " + r.URL.Path, Status: rec.status})
	case http.StatusNotFound, 0:
		writeError(w, api.NotFound("no such endpoint: %s %s", r.Method, r.URL.Path))
	default:
		h.ServeHTTP(w, r) // a redirect (path cleaning)
	}
}

// observe reports one answered request. A WebSocket upgrade counts when
// the connection ends, with status 101 and no duration: its lifetime is
// not a request's latency.
func (a *API) observe(pattern, method string, sw *statusWriter, start time.Time) {
	route := "unmatched"
	if pattern != "" {
		_, route, _ = strings.Cut(pattern, " ")
	}
	status := cmp.Or(sw.status, http.StatusOK)
	d := time.Since(start)
	if sw.hijacked {
		status, d = http.StatusSwitchingProtocols, 0
	}
	a.metrics.Request(route, metricMethod(method), status, d)
}

// metricMethod bounds the method label to the standard methods.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusWriter remembers the status a handler answered with. It passes
// on flushes (followed logs) and hijacks (the hub's WebSocket upgrade).
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil {
		s.hijacked = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

// --- jobs ---

func (a *API) createJob(w http.ResponseWriter, r *http.Request) {
	var j api.Job
	if !decodeBody(w, r, api.MaxJobBytes, &j) {
		return
	}
	out, err := a.backend.CreateJob(r.Context(), j)
	a.reply(w, r, http.StatusCreated, out, err)
}

func (a *API) putJob(w http.ResponseWriter, r *http.Request) {
	var j api.Job
	if !decodeBody(w, r, api.MaxJobBytes, &j) {
		return
	}
	group, name := r.PathValue("group"), r.PathValue("name")
	if err := checkPathKey(group, name, &j); err != nil {
		writeError(w, err)
		return
	}
	create := r.URL.Query().Get("create") == "true"
	out, created, err := a.backend.PutJob(r.Context(), j, create)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	a.reply(w, r, status, out, err)
}

// checkPathKey fills the body's group and name from the path, or refuses
// a body that names another job.
func checkPathKey(group, name string, j *api.Job) error {
	if j.Group == "" {
		j.Group = group
	}
	if j.Name == "" {
		j.Name = name
	}
	if j.Group != group {
		return api.Invalid("group", "%q does not match the path's %q", j.Group, group)
	}
	if j.Name != name {
		return api.Invalid("name", "%q does not match the path's %q", j.Name, name)
	}
	return nil
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	out, err := a.backend.GetJob(r.Context(), key)
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := listLimit(w, q.Get("limit"))
	if !ok {
		return
	}
	group := q.Get("group")
	if group != "" && !api.ValidName(group) {
		writeError(w, api.Invalid("group", "%q is not a valid group", group))
		return
	}
	out, err := a.backend.ListJobs(r.Context(), group, q.Get("cursor"), limit)
	if out.Jobs == nil {
		out.Jobs = []api.Job{}
	}
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) deleteJob(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	if err := a.backend.DeleteJob(r.Context(), key); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) pauseJob(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	out, err := a.backend.PauseJob(r.Context(), key)
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) resumeJob(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	out, err := a.backend.ResumeJob(r.Context(), key)
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) triggerJob(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	ids, err := a.backend.TriggerJob(r.Context(), key)
	a.reply(w, r, http.StatusAccepted, api.TriggerResponse{Executions: ids}, err)
}

func (a *API) batchJobs(w http.ResponseWriter, r *http.Request) {
	var req api.BatchRequest
	if !decodeBody(w, r, api.MaxBatchBytes, &req) {
		return
	}
	if err := req.Validate(); err != nil {
		writeError(w, err)
		return
	}
	out, err := a.backend.BatchJobs(r.Context(), req)
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) pauseGroup(w http.ResponseWriter, r *http.Request) {
	group := r.PathValue("group")
	if err := api.CheckName("group", group); err != nil {
		writeError(w, err)
		return
	}
	pause := strings.HasSuffix(r.URL.Path, "/pause")
	n, err := a.backend.PauseGroup(r.Context(), group, pause)
	a.reply(w, r, http.StatusOK, map[string]int{"jobs": n}, err)
}

func (a *API) listExecutions(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	limit, ok := listLimit(w, r.URL.Query().Get("limit"))
	if !ok {
		return
	}
	out, err := a.backend.ListExecutions(r.Context(), key, r.URL.Query().Get("cursor"), limit)
	if out.Executions == nil {
		out.Executions = []api.Execution{}
	}
	a.reply(w, r, http.StatusOK, out, err)
}

// --- executions ---

func (a *API) getExecution(w http.ResponseWriter, r *http.Request) {
	out, err := a.backend.GetExecution(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) killExecution(w http.ResponseWriter, r *http.Request) {
	err := a.backend.KillExecution(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusAccepted, map[string]string{"id": r.PathValue("id")}, err)
}

func (a *API) executionLogs(w http.ResponseWriter, r *http.Request) {
	follow := r.URL.Query().Get("follow") == "true"
	lw := &httpLogWriter{w: w}
	err := a.backend.ExecutionLogs(r.Context(), r.PathValue("id"), follow, lw)
	if err != nil && !lw.started {
		writeError(w, err)
	}
}

type httpLogWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *httpLogWriter) WriteLine(line string) error {
	if !l.started {
		l.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		l.w.Header().Set("X-Content-Type-Options", "nosniff")
		l.w.WriteHeader(http.StatusOK)
		l.started = true
	}
	_, err := io.WriteString(l.w, line+"\n")
	return err
}

func (l *httpLogWriter) Flush() {
	if !l.started {
		l.WriteLine("") //nolint:errcheck // starts an empty body
		return
	}
	if f, ok := l.w.(http.Flusher); ok {
		f.Flush()
	}
}

// --- triggers and calendars ---

func (a *API) preview(w http.ResponseWriter, r *http.Request) {
	var req api.PreviewRequest
	if !decodeBody(w, r, api.MaxJobBytes, &req) {
		return
	}
	out, err := a.backend.Preview(r.Context(), req)
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) createCalendar(w http.ResponseWriter, r *http.Request) {
	var c scheduler.CalendarSpec
	if !decodeBody(w, r, api.MaxJobBytes, &c) {
		return
	}
	out, err := a.backend.PutCalendar(r.Context(), c, true)
	a.reply(w, r, http.StatusCreated, out, err)
}

func (a *API) putCalendar(w http.ResponseWriter, r *http.Request) {
	var c scheduler.CalendarSpec
	if !decodeBody(w, r, api.MaxJobBytes, &c) {
		return
	}
	if c.Name == "" {
		c.Name = r.PathValue("name")
	}
	if c.Name != r.PathValue("name") {
		writeError(w, api.Invalid("name", "%q does not match the path's %q", c.Name, r.PathValue("name")))
		return
	}
	out, err := a.backend.PutCalendar(r.Context(), c, false)
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) getCalendar(w http.ResponseWriter, r *http.Request) {
	out, err := a.backend.GetCalendar(r.Context(), r.PathValue("name"))
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) listCalendars(w http.ResponseWriter, r *http.Request) {
	out, err := a.backend.ListCalendars(r.Context())
	if out == nil {
		out = []scheduler.CalendarSpec{}
	}
	a.reply(w, r, http.StatusOK, map[string]any{"calendars": out}, err)
}

func (a *API) deleteCalendar(w http.ResponseWriter, r *http.Request) {
	if err := a.backend.DeleteCalendar(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- cluster ---

func (a *API) cluster(w http.ResponseWriter, r *http.Request) {
	out, err := a.backend.Cluster(r.Context())
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) clients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := listLimit(w, q.Get("limit"))
	if !ok {
		return
	}
	out, err := a.backend.Clients(r.Context(), q.Get("group"), q.Get("cursor"), limit)
	if out.Clients == nil {
		out.Clients = []api.Client{}
	}
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) versionInfo(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, api.Version{Version: a.version, Protocol: protocol.Version}, nil)
}

// --- helpers ---

func (a *API) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		if api.StatusOf(err) >= 500 {
			a.logger.Warn("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeError(w, err)
		return
	}
	writeJSON(w, status, v)
}

func pathKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	group, name := r.PathValue("group"), r.PathValue("name")
	if err := api.CheckName("group", group); err != nil {
		writeError(w, err)
		return "", false
	}
	if err := api.CheckName("name", name); err != nil {
		writeError(w, err)
		return "", false
	}
	return group + "/" + name, true
}

func listLimit(w http.ResponseWriter, s string) (int, bool) {
	if s == "" {
		return DefaultListLimit, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxListLimit {
		writeError(w, api.Invalid("limit", "must be an integer between 1 and %d", MaxListLimit))
		return 0, false
	}
	return n, true
}

// decodeBody reads a JSON body of at most limit bytes into v, refusing
// unknown fields so that a misspelt field is an error, not a silent no-op.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("body is larger than %d bytes", limit), Status: http.StatusRequestEntityTooLarge})
			return false
		}
		writeError(w, api.Invalid("", "read body: %v", err))
		return false
	}
	if err := DecodeJSON(body, v); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

// DecodeJSON decodes one JSON value, refusing unknown fields and trailing
// data, and turns decoding errors into *api.Error values naming the field.
func DecodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := jsonError(err)
		if e.Field == "" {
			e.Field = failingField(body, v)
		}
		return e
	}
	if dec.More() {
		return api.Invalid("", "body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) *api.Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return api.Invalid("", "body is empty; a JSON object is required")
	case errors.As(err, &syn):
		return api.Invalid("", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return api.Invalid(typ.Field, "must be %s, not %s", typ.Type.String(), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return api.Invalid(field, "unknown field")
	}
	// Custom UnmarshalJSON errors (durations, intervals) arrive wrapped.
	return api.Invalid("", "%v", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	e := api.AsError(err)
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	writeJSON(w, e.Status, api.ErrorBody{Error: e})
}
