package transport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// Defaults and limits of the http performer.
const (
	// DefaultHTTPTimeout bounds one call when the job's perform names no
	// timeout.
	DefaultHTTPTimeout = 30 * time.Second

	// DefaultHTTPMaxInFlight bounds the calls under way at once.
	DefaultHTTPMaxInFlight = 64

	// DefaultHTTPMaxQueued bounds the calls waiting for a slot; beyond
	// them Perform refuses with ErrPerformerBusy.
	DefaultHTTPMaxQueued = 1024

	// DefaultResultRetries is how many more times a result is reported
	// when the shard leader could not record it.
	DefaultResultRetries = 8

	// DefaultResultRetryBackoff is the first wait before a result is
	// reported again; it doubles up to maxResultRetryBackoff.
	DefaultResultRetryBackoff = 500 * time.Millisecond

	// HTTPBodyTail is how much of the response body a result keeps: the
	// last bytes, like a process's output tail.
	HTTPBodyTail = 4096

	// httpMaxRedirects is how many redirects a call follows; the next
	// one ends it with the redirect's own status.
	httpMaxRedirects = 3

	// httpMaxBodyRead bounds the body bytes read for the tail; the rest
	// is not waited for.
	httpMaxBodyRead = 1 << 20

	// resultWait bounds the wait for a report's done callback.
	resultWait = 30 * time.Second

	maxResultRetryBackoff = 10 * time.Second
)

// Errors of Perform.
var (
	ErrPerformerBusy   = errors.New("performer busy")
	ErrPerformerClosed = errors.New("performer closed")
)

// errCallKilled is the cause of a call stopped by Kill.
var errCallKilled = errors.New("killed")

// HTTPPerformerConfig configures an HTTPPerformer. The zero value is
// usable.
type HTTPPerformerConfig struct {
	// Logger defaults to discarding.
	Logger *slog.Logger

	// Timeout bounds a call whose job names no perform.timeout. Defaults
	// to DefaultHTTPTimeout.
	Timeout time.Duration

	// MaxInFlight and MaxQueued bound the calls under way and waiting.
	// Default to DefaultHTTPMaxInFlight and DefaultHTTPMaxQueued.
	MaxInFlight int
	MaxQueued   int

	// ResultRetries and ResultRetryBackoff govern reporting a result
	// again when it could not be recorded. Default to
	// DefaultResultRetries and DefaultResultRetryBackoff.
	ResultRetries      int
	ResultRetryBackoff time.Duration

	// Transport makes the calls. Defaults to a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper

	// UserAgent is sent with every call. Defaults to "swarm".
	UserAgent string
}

// Validate names the first invalid field.
func (c HTTPPerformerConfig) Validate() error {
	switch {
	case c.Timeout < 0:
		return errors.New("http performer: Timeout: must not be negative")
	case c.MaxInFlight < 0:
		return errors.New("http performer: MaxInFlight: must not be negative")
	case c.MaxQueued < 0:
		return errors.New("http performer: MaxQueued: must not be negative")
	case c.ResultRetries < 0:
		return errors.New("http performer: ResultRetries: must not be negative")
	case c.ResultRetryBackoff < 0:
		return errors.New("http performer: ResultRetryBackoff: must not be negative")
	}
	return nil
}

func (c HTTPPerformerConfig) withDefaults() HTTPPerformerConfig {
	c.Timeout = cmp.Or(c.Timeout, DefaultHTTPTimeout)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultHTTPMaxInFlight)
	c.MaxQueued = cmp.Or(c.MaxQueued, DefaultHTTPMaxQueued)
	c.ResultRetries = cmp.Or(c.ResultRetries, DefaultResultRetries)
	c.ResultRetryBackoff = cmp.Or(c.ResultRetryBackoff, DefaultResultRetryBackoff)
	c.UserAgent = cmp.Or(c.UserAgent, "swarm")
	if c.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.MaxInFlight // many jobs often call one host
		c.Transport = t
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// HTTPPerformer performs the fires of http jobs: it sends the fire as JSON
// to the job's URL and reports the answer as the fire's result. Every call
// runs in a goroutine the performer owns; Close cancels and waits for them.
type HTTPPerformer struct {
	cfg    HTTPPerformerConfig
	log    *slog.Logger
	client *http.Client
	slots  chan struct{} // one value per call under way

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  map[callKey]*httpCall // queued, under way or reporting
	closed bool
}

var _ Performer = (*HTTPPerformer)(nil)

type callKey struct {
	execID  string
	attempt int
}

type httpCall struct {
	fire   *protocol.Fire
	report PerformReport
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// NewHTTPPerformer returns a performer for cfg, or the error of
// cfg.Validate.
func NewHTTPPerformer(cfg HTTPPerformerConfig) (*HTTPPerformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &HTTPPerformer{
		cfg:   cfg,
		log:   cfg.Logger,
		slots: make(chan struct{}, cfg.MaxInFlight),
		calls: map[callKey]*httpCall{},
	}
	p.client = &http.Client{
		Transport: cfg.Transport,
		// No Jar: no cookies. A few redirects are followed; the last one
		// is the answer.
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > httpMaxRedirects {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

// Perform queues the call and returns: the fire is handed over. A fire
// already queued or under way (a resend by the leader) is not called
// twice.
func (p *HTTPPerformer) Perform(_ context.Context, f *protocol.Fire, report PerformReport) error {
	key := callKey{f.ExecID, f.Attempt}

	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrPerformerClosed
	case p.calls[key] != nil:
		return nil
	case len(p.calls) >= p.cfg.MaxInFlight+p.cfg.MaxQueued:
		return fmt.Errorf("perform %s: %w: %d calls queued or under way", f.ExecID, ErrPerformerBusy, len(p.calls))
	}

	c := &httpCall{fire: f, report: report}
	c.ctx, c.cancel = context.WithCancelCause(p.ctx)
	p.calls[key] = c
	p.wg.Go(func() { p.run(key, c) })
	return nil
}

// Kill stops the calls of execID under way or queued; each is reported
// killed. It reports whether there was any.
func (p *HTTPPerformer) Kill(execID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	found := false
	for k, c := range p.calls {
		if k.execID == execID {
			c.cancel(errCallKilled)
			found = true
		}
	}
	return found
}

// Close cancels every call and waits for their goroutines. Results not
// reported by then are not reported.
func (p *HTTPPerformer) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()

	p.cancel()
	p.wg.Wait()
	p.client.CloseIdleConnections()
	return nil
}

// run waits for a slot, makes the call and reports it.
func (p *HTTPPerformer) run(key callKey, c *httpCall) {
	defer func() {
		p.mu.Lock()
		delete(p.calls, key)
		p.mu.Unlock()
		c.cancel(context.Canceled) // frees the context
	}()

	select {
	case p.slots <- struct{}{}:
	case <-c.ctx.Done():
		if errors.Is(context.Cause(c.ctx), errCallKilled) {
			now := time.Now().UTC()
			p.reportResult(c, &protocol.Result{ExecID: key.execID, Attempt: key.attempt, State: api.ExecKilled,
				Error: "killed before the call", FinishedAt: now})
		}
		return
	}
	started := time.Now().UTC()
	c.report.Ack(&protocol.Ack{ExecID: key.execID, Attempt: key.attempt, Accepted: true, StartedAt: started})
	res := p.call(c, started)
	<-p.slots

	p.log.Debug("http perform ended", "exec_id", key.execID, "attempt", key.attempt, "state", res.State, "http_status", res.HTTPStatus)
	p.reportResult(c, res)
}

// call sends the fire and judges the answer.
func (p *HTTPPerformer) call(c *httpCall, started time.Time) *protocol.Result {
	f := c.fire
	res := &protocol.Result{ExecID: f.ExecID, Attempt: f.Attempt, StartedAt: started}
	finish := func(state, msg string) *protocol.Result {
		res.State, res.Error, res.FinishedAt = state, msg, time.Now().UTC()
		return res
	}
	if f.Perform == nil || f.Perform.URL == "" {
		return finish(api.ExecFailed, "fire has no perform.url")
	}

	timeout := callTimeout(f, p.cfg.Timeout)
	ctx, cancel := context.WithTimeoutCause(c.ctx, timeout, fmt.Errorf("timed out after %s", timeout))
	defer cancel()

	req, err := p.request(ctx, f)
	if err != nil {
		return finish(api.ExecFailed, err.Error())
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return finish(callState(ctx, err))
	}
	defer resp.Body.Close()

	res.HTTPStatus = resp.StatusCode
	tail, readErr := readTail(resp.Body, HTTPBodyTail, httpMaxBodyRead)
	res.Output = tail
	switch {
	case readErr != nil && ctx.Err() != nil:
		return finish(callState(ctx, readErr))
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return finish(api.ExecSucceeded, "")
	}
	return finish(api.ExecFailed, "http status "+resp.Status)
}

// request builds the call: the fire as JSON, with the headers that let the
// receiver drop a repeated delivery.
func (p *HTTPPerformer) request(ctx context.Context, f *protocol.Fire) (*http.Request, error) {
	body, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode fire: %w", err)
	}
	attempt := strconv.Itoa(f.Attempt)
	req, err := jsonRequest(ctx, cmp.Or(f.Perform.Method, http.MethodPost), f.Perform.URL, body,
		p.cfg.UserAgent, f.ExecID+"/"+attempt, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Swarm-Execution-Id", f.ExecID)
	req.Header.Set("X-Swarm-Attempt", attempt)
	return req, nil
}

// callTimeout is the job's perform.timeout, else def, and never more than
// the job's own timeout.
func callTimeout(f *protocol.Fire, def time.Duration) time.Duration {
	d := cmp.Or(f.Perform.Timeout.D(), def)
	if job := time.Duration(f.TimeoutMS) * time.Millisecond; job > 0 && job < d {
		d = job
	}
	return d
}

// callState names how a call that failed ended: timed out, killed, or
// failed with the error.
func callState(ctx context.Context, err error) (string, string) {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCallKilled):
		return api.ExecKilled, "killed"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return api.ExecTimedOut, cause.Error()
	case ctx.Err() != nil:
		return api.ExecLost, "server stopped"
	}
	return api.ExecFailed, err.Error()
}

// reportResult reports res until the leader records it, a bounded number
// of times, or until Close.
func (p *HTTPPerformer) reportResult(c *httpCall, res *protocol.Result) {
	wait := backoff{next: p.cfg.ResultRetryBackoff, max: maxResultRetryBackoff}
	for try := 0; ; try++ {
		err := p.reportOnce(c.report, res)
		if err == nil {
			return
		}
		if try >= p.cfg.ResultRetries {
			p.log.Warn("http perform result not recorded", "exec_id", res.ExecID, "attempt", res.Attempt, "tries", try+1, "error", err)
			return
		}
		if !wait.wait(p.ctx) {
			return
		}
	}
}

func (p *HTTPPerformer) reportOnce(report PerformReport, res *protocol.Result) error {
	if p.ctx.Err() != nil {
		return ErrPerformerClosed
	}
	done := make(chan error, 1)
	r := *res // the receiver may keep it
	report.Result(&r, func(err error) { done <- err })

	t := time.NewTimer(resultWait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errors.New("no answer from the shard leader")
	case <-p.ctx.Done():
		return ErrPerformerClosed
	}
}

// readTail reads r up to limit bytes and returns the last n of them, cut
// at a rune boundary.
func readTail(r io.Reader, n, limit int) (string, error) {
	buf := make([]byte, 0, 2*n)
	chunk := make([]byte, 32<<10)
	read := 0
	for read < limit {
		k, err := r.Read(chunk[:min(len(chunk), limit-read)])
		read += k
		buf = append(buf, chunk[:k]...)
		if len(buf) > 2*n {
			buf = append(buf[:0], buf[len(buf)-n:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return tailString(buf, n), fmt.Errorf("read body: %w", err)
		}
	}
	return tailString(buf, n), nil
}

func tailString(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
		// Skip the rest of a rune cut by the bound.
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	return string(b)
}
