package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/swarmsched/swarm/scheduler"
)

// Client defaults.
const (
	// DefaultClientTimeout bounds one request to one server, answer
	// included. Streams (followed logs) are bounded only until their
	// headers arrive.
	DefaultClientTimeout = 30 * time.Second

	// DefaultDialTimeout bounds connecting to one server, so that a dead
	// host costs seconds before the next server is tried.
	DefaultDialTimeout = 5 * time.Second

	// maxErrorBody caps how much of an error answer is read.
	maxErrorBody = 64 << 10
)

// RESTClient is a small client of the REST API (api.Client is the worker
// shape GET /v1/clients lists). It is safe for concurrent use.
//
// It knows several servers: any server answers any request, so on a
// connection error it tries the next one (and starts with the one that
// answered last). An answer with a 4xx or 5xx status is final: it comes
// back as an *Error with Status set.
type RESTClient struct {
	servers   []string // base URLs without a trailing slash
	token     string
	hc        *http.Client
	timeout   time.Duration
	userAgent string

	preferred atomic.Int32 // index into servers of the last one that answered
}

// ClientOption configures a RESTClient.
type ClientOption func(*RESTClient)

// WithToken sends token as a bearer token on every request.
func WithToken(token string) ClientOption {
	return func(c *RESTClient) { c.token = token }
}

// WithHTTPClient replaces the default http.Client (whose dialer gives up
// after DefaultDialTimeout). Its own Timeout, if any, also bounds streams.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *RESTClient) { c.hc = hc }
}

// WithTimeout bounds each request to one server (DefaultClientTimeout);
// zero means no bound beyond the caller's context.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *RESTClient) { c.timeout = d }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) ClientOption {
	return func(c *RESTClient) { c.userAgent = ua }
}

// NewClient returns a client of the given servers, each "host:port" or
// "http(s)://host:port[/prefix]".
func NewClient(servers []string, opts ...ClientOption) (*RESTClient, error) {
	c := &RESTClient{timeout: DefaultClientTimeout, userAgent: "swarm-api-client"}
	for _, s := range servers {
		base, err := serverBase(s)
		if err != nil {
			return nil, err
		}
		c.servers = append(c.servers, base)
	}
	if len(c.servers) == 0 {
		return nil, errors.New("new client: no server address given")
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	return c, nil
}

// Servers returns the base URLs the client tries, in order.
func (c *RESTClient) Servers() []string { return append([]string(nil), c.servers...) }

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *RESTClient) CloseIdleConnections() { c.hc.CloseIdleConnections() }

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: tr}
}

// serverBase turns "host:port" or a URL into a base URL.
func serverBase(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("server address: is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("server address %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("server address %q: has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("server address %q: must not have a query or fragment", s)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// UnreachableError says that no server could be connected to.
type UnreachableError struct {
	Servers []string // base URLs tried
	Err     error    // the last connection error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", strings.Join(e.Servers, ", "), e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// HasCode reports whether err carries an *Error with the given code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// request is one API call, sent to whichever server answers.
type request struct {
	method string
	path   string
	query  url.Values
	body   any    // marshalled as JSON when non-nil
	raw    []byte // sent as is (not JSON) when non-nil
	stream bool   // the answer is a long-lived stream
}

// call sends r and decodes a 2xx JSON answer into out (when out is non-nil
// and the answer has a body).
func (c *RESTClient) call(ctx context.Context, r request, out any) error {
	resp, done, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer done()
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
		return nil
	}
	err = json.NewDecoder(resp.Body).Decode(out)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// callFor calls r and returns its answer decoded as a T.
func callFor[T any](ctx context.Context, c *RESTClient, r request) (*T, error) {
	var out T
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// send tries the servers in turn, starting with the one that answered
// last. It moves on after an error that proves the request never reached
// a server (a failed dial), and after any transport error of an idempotent
// request; a POST that may have been received is not sent twice. The
// returned func releases the request's context.
func (c *RESTClient) send(ctx context.Context, r request) (*http.Response, func(), error) {
	body := r.raw
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: encode body: %w", r.method, r.path, err)
		}
		body = b
	}

	start := int(c.preferred.Load())
	tried := make([]string, 0, len(c.servers))
	var lastErr error
	for i := range c.servers {
		idx := (start + i) % len(c.servers)
		resp, done, err := c.attempt(ctx, c.servers[idx], r, body)
		if err == nil {
			c.preferred.Store(int32(idx))
			return resp, done, nil
		}
		tried = append(tried, c.servers[idx])
		lastErr = err

		if ctx.Err() != nil || (!isDialError(err) && !idempotent(r.method)) {
			return nil, nil, err
		}
	}
	return nil, nil, &UnreachableError{Servers: tried, Err: lastErr}
}

// attempt sends r to one server.
func (c *RESTClient) attempt(ctx context.Context, base string, r request, body []byte) (*http.Response, func(), error) {
	actx, cancel := context.WithCancel(ctx)
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, cancel)
	}
	done := func() {
		if timer != nil {
			timer.Stop()
		}
		cancel()
	}

	req, err := c.newRequest(actx, base, r, body)
	if err != nil {
		done()
		return nil, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		timedOut := timer != nil && !timer.Stop() && ctx.Err() == nil
		done()
		if timedOut {
			return nil, nil, fmt.Errorf("%s %s%s: no answer within %s: %w", r.method, base, r.path, c.timeout, err)
		}
		return nil, nil, err
	}
	if r.stream && timer != nil {
		timer.Stop() // the answer has begun; a followed stream may last
	}
	return resp, done, nil
}

func (c *RESTClient) newRequest(ctx context.Context, base string, r request, body []byte) (*http.Request, error) {
	target := base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	if r.raw != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !r.stream {
		req.Header.Set("Accept", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

// isDialError reports whether err happened while connecting, so the
// request cannot have reached a server.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// decodeError turns a non-2xx answer into an *Error: the envelope's when
// the body is one, else one built from the status and the body's start.
func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env ErrorBody
	if json.Unmarshal(b, &env) == nil && env.Error != nil && (env.Error.Code != "" || env.Error.Message != "") {
		env.Error.Status = resp.StatusCode
		if env.Error.Code == "" {
			env.Error.Code = codeForStatus(resp.StatusCode)
		}
		return env.Error
	}

	msg := "server answered " + resp.Status
	if text := strings.TrimSpace(string(b)); text != "" {
		const maxText = 200
		if len(text) > maxText {
			text = text[:maxText] + "..."
		}
		msg += ": " + text
	}
	return &Error{Code: codeForStatus(resp.StatusCode), Message: msg, Status: resp.StatusCode}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalid
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethod
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}

// ListOptions pages a list: Limit items (0: the server's default) after
// Cursor (empty: from the start).
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// ListJobsOptions pages GET /v1/jobs; Group filters by job group.
type ListJobsOptions struct {
	Group  string
	Limit  int
	Cursor string
}

// ListClientsOptions pages GET /v1/clients; Group filters by client group.
type ListClientsOptions struct {
	Group  string
	Limit  int
	Cursor string
}

func groupValues(group string, o ListOptions) url.Values {
	q := o.values()
	if group != "" {
		q.Set("group", group)
	}
	return q
}

// collect follows next cursors from cursor to the last page.
func collect[T any](ctx context.Context, cursor string, page func(cursor string) ([]T, string, error)) ([]T, error) {
	all := []T{}
	seen := map[string]bool{}
	for {
		items, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("list: server repeated cursor %q", next)
		}
		seen[next] = true
		cursor = next
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func jobPath(group, name string) (string, error) {
	if err := CheckName("group", group); err != nil {
		return "", err
	}
	if err := CheckName("name", name); err != nil {
		return "", err
	}
	return "/v1/jobs/" + url.PathEscape(group) + "/" + url.PathEscape(name), nil
}

func executionPath(id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", Invalid("id", "is required")
	}
	return "/v1/executions/" + url.PathEscape(id), nil
}

func calendarPath(name string) (string, error) {
	if err := CheckName("name", name); err != nil {
		return "", err
	}
	return "/v1/calendars/" + url.PathEscape(name), nil
}

// CreateJob creates job (POST /v1/jobs) and returns it as stored. An
// existing key answers an *Error with code already_exists.
func (c *RESTClient) CreateJob(ctx context.Context, job *Job) (*Job, error) {
	return callFor[Job](ctx, c, request{method: http.MethodPost, path: "/v1/jobs", body: job})
}

// GetJob returns the job group/name.
func (c *RESTClient) GetJob(ctx context.Context, group, name string) (*Job, error) {
	return c.jobCall(ctx, http.MethodGet, group, name, "")
}

// ListJobs returns one page of jobs, ordered by group/name.
func (c *RESTClient) ListJobs(ctx context.Context, opts ListJobsOptions) (*JobList, error) {
	q := groupValues(opts.Group, ListOptions{Limit: opts.Limit, Cursor: opts.Cursor})
	return callFor[JobList](ctx, c, request{method: http.MethodGet, path: "/v1/jobs", query: q})
}

// ListAllJobs follows the pages of ListJobs from opts.Cursor to the end;
// opts.Limit is the page size.
func (c *RESTClient) ListAllJobs(ctx context.Context, opts ListJobsOptions) ([]Job, error) {
	return collect(ctx, opts.Cursor, func(cursor string) ([]Job, string, error) {
		opts.Cursor = cursor
		page, err := c.ListJobs(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return page.Jobs, page.NextCursor, nil
	})
}

// PutJob replaces the job at job's key (PUT /v1/jobs/{group}/{name}); with
// create it also creates a missing one, else a missing job is not_found.
func (c *RESTClient) PutJob(ctx context.Context, job *Job, create bool) (*Job, error) {
	path, err := jobPath(job.Group, job.Name)
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodPut, path: path, body: job}
	if create {
		r.query = url.Values{"create": {"true"}}
	}
	return callFor[Job](ctx, c, r)
}

// DeleteJob deletes the job group/name.
func (c *RESTClient) DeleteJob(ctx context.Context, group, name string) error {
	path, err := jobPath(group, name)
	if err != nil {
		return err
	}
	return c.call(ctx, request{method: http.MethodDelete, path: path}, nil)
}

// PauseJob pauses the job group/name and returns it.
func (c *RESTClient) PauseJob(ctx context.Context, group, name string) (*Job, error) {
	return c.jobCall(ctx, http.MethodPost, group, name, "/pause")
}

// ResumeJob resumes the job group/name and returns it.
func (c *RESTClient) ResumeJob(ctx context.Context, group, name string) (*Job, error) {
	return c.jobCall(ctx, http.MethodPost, group, name, "/resume")
}

func (c *RESTClient) jobCall(ctx context.Context, method, group, name, suffix string) (*Job, error) {
	path, err := jobPath(group, name)
	if err != nil {
		return nil, err
	}
	return callFor[Job](ctx, c, request{method: method, path: path + suffix})
}

// TriggerJob fires the job group/name once, now, and returns the ids of
// the executions it made (one per piece).
func (c *RESTClient) TriggerJob(ctx context.Context, group, name string) ([]string, error) {
	path, err := jobPath(group, name)
	if err != nil {
		return nil, err
	}
	var out TriggerResponse
	if err := c.call(ctx, request{method: http.MethodPost, path: path + "/trigger"}, &out); err != nil {
		return nil, err
	}
	return out.Executions, nil
}

// PauseGroup pauses every job of group and returns how many it paused.
func (c *RESTClient) PauseGroup(ctx context.Context, group string) (int, error) {
	return c.groupCall(ctx, group, "pause")
}

// ResumeGroup resumes every job of group and returns how many it resumed.
func (c *RESTClient) ResumeGroup(ctx context.Context, group string) (int, error) {
	return c.groupCall(ctx, group, "resume")
}

func (c *RESTClient) groupCall(ctx context.Context, group, verb string) (int, error) {
	if err := CheckName("group", group); err != nil {
		return 0, err
	}
	var out struct {
		Jobs int `json:"jobs"`
	}
	path := "/v1/groups/" + url.PathEscape(group) + "/" + verb
	if err := c.call(ctx, request{method: http.MethodPost, path: path}, &out); err != nil {
		return 0, err
	}
	return out.Jobs, nil
}

// BatchJobs writes many jobs in one request (POST /v1/jobs:batch). Items
// fail one by one: check the results (BatchResponse.Err).
func (c *RESTClient) BatchJobs(ctx context.Context, req *BatchRequest) (*BatchResponse, error) {
	return callFor[BatchResponse](ctx, c, request{method: http.MethodPost, path: "/v1/jobs:batch", body: req})
}

// ListExecutions returns one page of the executions of the job
// group/name, newest first.
func (c *RESTClient) ListExecutions(ctx context.Context, group, name string, opts ListOptions) (*ExecutionList, error) {
	path, err := jobPath(group, name)
	if err != nil {
		return nil, err
	}
	return callFor[ExecutionList](ctx, c, request{method: http.MethodGet, path: path + "/executions", query: opts.values()})
}

// ListAllExecutions follows the pages of ListExecutions to the end.
func (c *RESTClient) ListAllExecutions(ctx context.Context, group, name string, opts ListOptions) ([]Execution, error) {
	return collect(ctx, opts.Cursor, func(cursor string) ([]Execution, string, error) {
		opts.Cursor = cursor
		page, err := c.ListExecutions(ctx, group, name, opts)
		if err != nil {
			return nil, "", err
		}
		return page.Executions, page.NextCursor, nil
	})
}

// GetExecution returns the execution id.
func (c *RESTClient) GetExecution(ctx context.Context, id string) (*Execution, error) {
	path, err := executionPath(id)
	if err != nil {
		return nil, err
	}
	return callFor[Execution](ctx, c, request{method: http.MethodGet, path: path})
}

// ExecutionLogs returns the log of execution id as text lines. With follow
// the stream lasts while the run lives; cancel ctx or Close to stop. The
// client's timeout bounds only the wait for the answer to begin.
func (c *RESTClient) ExecutionLogs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	path, err := executionPath(id)
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodGet, path: path + "/logs", stream: true}
	if follow {
		r.query = url.Values{"follow": {"true"}}
	}
	resp, done, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer done()
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return &streamBody{ReadCloser: resp.Body, done: done}, nil
}

// streamBody releases the request's context when closed.
type streamBody struct {
	io.ReadCloser
	done func()
}

func (b *streamBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// KillExecution asks for execution id to be killed.
func (c *RESTClient) KillExecution(ctx context.Context, id string) error {
	path, err := executionPath(id)
	if err != nil {
		return err
	}
	return c.call(ctx, request{method: http.MethodPost, path: path + "/kill"}, nil)
}

// PreviewTrigger asks the server for the next fire times of a trigger.
func (c *RESTClient) PreviewTrigger(ctx context.Context, req PreviewRequest) (*PreviewResponse, error) {
	return callFor[PreviewResponse](ctx, c, request{method: http.MethodPost, path: "/v1/triggers:preview", body: req})
}

// CalendarList is the answer of GET /v1/calendars.
type CalendarList struct {
	Calendars  []scheduler.CalendarSpec `json:"calendars"`
	NextCursor string                   `json:"next_cursor,omitempty"`
}

// CreateCalendar stores a new calendar; an existing name is an *Error
// with status 409.
func (c *RESTClient) CreateCalendar(ctx context.Context, cal *scheduler.CalendarSpec) (*scheduler.CalendarSpec, error) {
	return c.calendarCall(ctx, http.MethodPost, "/v1/calendars", cal)
}

// PutCalendar replaces (or creates) the calendar cal.Name.
func (c *RESTClient) PutCalendar(ctx context.Context, cal *scheduler.CalendarSpec) (*scheduler.CalendarSpec, error) {
	path, err := calendarPath(cal.Name)
	if err != nil {
		return nil, err
	}
	return c.calendarCall(ctx, http.MethodPut, path, cal)
}

// GetCalendar returns the calendar name.
func (c *RESTClient) GetCalendar(ctx context.Context, name string) (*scheduler.CalendarSpec, error) {
	path, err := calendarPath(name)
	if err != nil {
		return nil, err
	}
	return c.calendarCall(ctx, http.MethodGet, path, nil)
}

func (c *RESTClient) calendarCall(ctx context.Context, method, path string, body *scheduler.CalendarSpec) (*scheduler.CalendarSpec, error) {
	r := request{method: method, path: path}
	if body != nil {
		r.body = body
	}
	var out scheduler.CalendarSpec
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Name == "" && body != nil {
		out = *body // the server answered without a body
	}
	return &out, nil
}

// ListCalendars returns one page of calendars.
func (c *RESTClient) ListCalendars(ctx context.Context, opts ListOptions) (*CalendarList, error) {
	return callFor[CalendarList](ctx, c, request{method: http.MethodGet, path: "/v1/calendars", query: opts.values()})
}

// ListAllCalendars follows the pages of ListCalendars to the end.
func (c *RESTClient) ListAllCalendars(ctx context.Context) ([]scheduler.CalendarSpec, error) {
	return collect(ctx, "", func(cursor string) ([]scheduler.CalendarSpec, string, error) {
		page, err := c.ListCalendars(ctx, ListOptions{Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return page.Calendars, page.NextCursor, nil
	})
}

// DeleteCalendar deletes the calendar name.
func (c *RESTClient) DeleteCalendar(ctx context.Context, name string) error {
	path, err := calendarPath(name)
	if err != nil {
		return err
	}
	return c.call(ctx, request{method: http.MethodDelete, path: path}, nil)
}

// Cluster returns the cluster's servers, shards and load.
func (c *RESTClient) Cluster(ctx context.Context) (*Cluster, error) {
	return callFor[Cluster](ctx, c, request{method: http.MethodGet, path: "/v1/cluster"})
}

// ListClients returns one page of connected workers.
func (c *RESTClient) ListClients(ctx context.Context, opts ListClientsOptions) (*ClientList, error) {
	q := groupValues(opts.Group, ListOptions{Limit: opts.Limit, Cursor: opts.Cursor})
	return callFor[ClientList](ctx, c, request{method: http.MethodGet, path: "/v1/clients", query: q})
}

// ListAllClients follows the pages of ListClients to the end.
func (c *RESTClient) ListAllClients(ctx context.Context, opts ListClientsOptions) ([]Client, error) {
	return collect(ctx, opts.Cursor, func(cursor string) ([]Client, string, error) {
		opts.Cursor = cursor
		page, err := c.ListClients(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return page.Clients, page.NextCursor, nil
	})
}

// Version returns the server's version and protocol number.
func (c *RESTClient) Version(ctx context.Context) (*Version, error) {
	return callFor[Version](ctx, c, request{method: http.MethodGet, path: "/v1/version"})
}

// LeaveResponse is the answer of POST /v1/server/leave.
type LeaveResponse struct {
	Server string `json:"server"`
}

// LeaveServer asks the server the client talks to (the first of its
// servers) to leave the cluster: its replicas and leaderships move away,
// then it stops.
func (c *RESTClient) LeaveServer(ctx context.Context) (*LeaveResponse, error) {
	return callFor[LeaveResponse](ctx, c, request{method: http.MethodPost, path: "/v1/server/leave"})
}

// CreateToken makes an API token; the answer holds its secret, shown once.
func (c *RESTClient) CreateToken(ctx context.Context, req TokenRequest) (*Token, error) {
	return callFor[Token](ctx, c, request{method: http.MethodPost, path: "/v1/tokens", body: req})
}

// ListTokens lists the API tokens, without their secrets.
func (c *RESTClient) ListTokens(ctx context.Context) (*TokenList, error) {
	return callFor[TokenList](ctx, c, request{method: http.MethodGet, path: "/v1/tokens"})
}

// RevokeToken deletes an API token.
func (c *RESTClient) RevokeToken(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/v1/tokens/" + url.PathEscape(id)}, nil)
}

// SaveSnapshot writes a snapshot of the whole cluster (every shard, taken
// on its leader, and the calendars) to w, as a tar archive.
func (c *RESTClient) SaveSnapshot(ctx context.Context, w io.Writer) (int64, error) {
	resp, done, err := c.send(ctx, request{method: http.MethodGet, path: "/v1/snapshot", stream: true})
	if err != nil {
		return 0, err
	}
	defer done()
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, decodeError(resp)
	}
	return io.Copy(w, resp.Body)
}

// RestoreSnapshot replaces every shard's state with the archive's and puts
// its calendars back. The cluster must have the same shards and slots.
func (c *RESTClient) RestoreSnapshot(ctx context.Context, archive []byte) error {
	return c.call(ctx, request{method: http.MethodPost, path: "/v1/snapshot", raw: archive, stream: true}, nil)
}
