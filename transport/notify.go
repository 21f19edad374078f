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
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/logx"
)

// Notifier defaults.
const (
	// DefaultNotifyTimeout bounds one call to a webhook.
	DefaultNotifyTimeout = 10 * time.Second

	// DefaultNotifyTries is how many calls a notification gets in all.
	DefaultNotifyTries = 5

	// DefaultNotifyBackoff is the first wait before a call is tried
	// again; it doubles each time (4+8+16+32 s: about a minute of tries).
	DefaultNotifyBackoff = 4 * time.Second

	// maxNotifyBackoff bounds the wait between two calls.
	maxNotifyBackoff = 5 * time.Minute

	// DefaultNotifyMaxInFlight bounds the calls under way at once.
	DefaultNotifyMaxInFlight = 16

	// DefaultNotifyMaxQueued bounds the notifications not yet done
	// (waiting, under way or between tries); beyond it they are dropped.
	DefaultNotifyMaxQueued = 1024

	// notifyDropLog is how often a dropped notification is logged.
	notifyDropLog = 30 * time.Second
)

// Results a notification ends with, as NotifyMetrics counts them.
const (
	NotifyDelivered = "delivered"
	NotifyFailed    = "failed"
	NotifyDropped   = "dropped"
)

// NotifyMetrics counts notifications by event and result (delivered,
// failed, dropped). Calls must not block.
type NotifyMetrics interface {
	Notification(event, result string)
}

// NotifierConfig configures a Notifier. The zero value is usable.
type NotifierConfig struct {
	// Timeout bounds one call. Defaults to DefaultNotifyTimeout.
	Timeout time.Duration

	// Tries is how many calls one notification gets; Backoff is the wait
	// after the first failed one, doubled after each. Default to
	// DefaultNotifyTries and DefaultNotifyBackoff.
	Tries   int
	Backoff time.Duration

	// MaxInFlight and MaxQueued bound the calls under way and the
	// notifications not done. Default to DefaultNotifyMaxInFlight and
	// DefaultNotifyMaxQueued.
	MaxInFlight int
	MaxQueued   int

	// Transport makes the calls. Defaults to a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper

	// UserAgent is sent with every call. Defaults to "swarm".
	UserAgent string

	// Metrics counts the notifications. Nil means none.
	Metrics NotifyMetrics

	// Logger defaults to discarding.
	Logger *slog.Logger
}

// Validate names the first invalid field.
func (c NotifierConfig) Validate() error {
	switch {
	case c.Timeout < 0:
		return errors.New("notifier: Timeout: must not be negative")
	case c.Tries < 0:
		return errors.New("notifier: Tries: must not be negative")
	case c.Backoff < 0:
		return errors.New("notifier: Backoff: must not be negative")
	case c.MaxInFlight < 0:
		return errors.New("notifier: MaxInFlight: must not be negative")
	case c.MaxQueued < 0:
		return errors.New("notifier: MaxQueued: must not be negative")
	}
	return nil
}

func (c NotifierConfig) withDefaults() NotifierConfig {
	c.Timeout = cmp.Or(c.Timeout, DefaultNotifyTimeout)
	c.Tries = cmp.Or(c.Tries, DefaultNotifyTries)
	c.Backoff = cmp.Or(c.Backoff, DefaultNotifyBackoff)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultNotifyMaxInFlight)
	c.MaxQueued = cmp.Or(c.MaxQueued, DefaultNotifyMaxQueued)
	c.UserAgent = cmp.Or(c.UserAgent, "swarm")
	if c.Transport == nil {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Notifier calls jobs' alert webhooks: it POSTs an api.Notification to
// each of the job's notify URLs that subscribes to the event, and tries a
// call that failed for a passing reason (no answer, 5xx, 408, 429) again
// with exponential backoff. Each notification runs in a goroutine the
// Notifier owns, waiting for one of MaxInFlight call slots; Close cancels
// and waits for them.
//
// Delivery is best effort: a notification is dropped when MaxQueued are
// not done, when its tries are spent, and when the server stops.
type Notifier struct {
	cfg    NotifierConfig
	log    *slog.Logger
	client *http.Client
	slots  chan struct{} // one value per call under way

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	queued int // notifications not done
	closed bool

	drops logx.Limiter
}

// notification is one webhook call to make, with its tries.
type notification struct {
	event   string
	url     string
	headers map[string]string
	key     string // Idempotency-Key: exec id/attempt/event
	body    []byte
}

// NewNotifier returns a Notifier for cfg, or the error of cfg.Validate.
// It starts no goroutine until a notification comes.
func NewNotifier(cfg NotifierConfig) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Notifier{
		cfg:   cfg,
		log:   cfg.Logger,
		slots: make(chan struct{}, cfg.MaxInFlight),
		client: &http.Client{
			Transport: cfg.Transport,
			Timeout:   cfg.Timeout,
			// A webhook answers; it does not send the alert elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	n.drops.Interval = notifyDropLog
	n.ctx, n.cancel = context.WithCancel(context.Background())
	return n, nil
}

// Notify queues a call to each of job's webhooks that subscribes to event
// and returns at once.
func (n *Notifier) Notify(event string, job *api.Job, e *api.Execution, at time.Time) {
	var body []byte
	for _, sub := range job.Notify {
		if !sub.Wants(event) {
			continue
		}
		if body == nil {
			var err error
			body, err = json.Marshal(api.Notification{Event: event, Job: job.Key(), Execution: *e, At: at.UTC()})
			if err != nil {
				n.log.Warn("alert not sent", "job", job.Key(), "event", event, "error", fmt.Errorf("encode notification: %w", err))
				return
			}
		}
		n.enqueue(&notification{
			event:   event,
			url:     sub.URL,
			headers: sub.Headers,
			key:     e.ID + "/" + strconv.Itoa(e.Attempt) + "/" + event,
			body:    body,
		})
	}
}

// enqueue starts a notification's goroutine, or drops it when too many
// are not done.
func (n *Notifier) enqueue(x *notification) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	if n.queued >= n.cfg.MaxQueued {
		n.mu.Unlock()
		n.count(x.event, NotifyDropped)
		if ok, suppressed := n.drops.Allow(time.Now()); ok {
			n.log.Warn("alert dropped: notifier queue full", "event", x.event, "url", redactURL(x.url), "max_queued", n.cfg.MaxQueued, "suppressed", suppressed)
		}
		return
	}
	n.queued++
	n.wg.Add(1) // under the lock, so Close never waits while one is added
	n.mu.Unlock()
	go n.run(x)
}

// Close cancels every notification and waits for their goroutines.
// Notifications that were not delivered by then are not.
func (n *Notifier) Close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()

	n.cancel()
	n.wg.Wait()
	n.client.CloseIdleConnections()
	return nil
}

// run makes a notification's calls until one succeeds, one fails for
// good, its tries are spent, or Close.
func (n *Notifier) run(x *notification) {
	defer func() {
		n.mu.Lock()
		n.queued--
		n.mu.Unlock()
		n.wg.Done()
	}()

	wait := backoff{next: n.cfg.Backoff, max: maxNotifyBackoff}
	for try := 1; ; try++ {
		retry, err := n.callOnce(x)
		if err == nil {
			n.count(x.event, NotifyDelivered)
			n.log.Debug("alert delivered", "event", x.event, "url", redactURL(x.url), "key", x.key, "tries", try)
			return
		}
		if n.ctx.Err() != nil {
			return
		}
		if !retry || try >= n.cfg.Tries {
			n.count(x.event, NotifyFailed)
			n.log.Warn("alert not delivered", "event", x.event, "url", redactURL(x.url), "key", x.key, "tries", try, "error", err)
			return
		}
		if !wait.wait(n.ctx) {
			return
		}
	}
}

// callOnce makes one call in a call slot. retry says whether a failure
// may pass (no answer, 5xx, 408, 429).
func (n *Notifier) callOnce(x *notification) (retry bool, err error) {
	select {
	case n.slots <- struct{}{}:
	case <-n.ctx.Done():
		return false, n.ctx.Err()
	}
	defer func() { <-n.slots }()

	req, err := jsonRequest(n.ctx, http.MethodPost, x.url, x.body, n.cfg.UserAgent, x.key, x.headers)
	if err != nil {
		return false, err
	}
	req.Header.Set("X-Swarm-Event", x.event) // after the job's headers: the contract

	resp, err := n.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("post: %w", redactErr(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true, fmt.Errorf("post: http status %s", resp.Status)
	default:
		return false, fmt.Errorf("post: http status %s", resp.Status)
	}
}

func (n *Notifier) count(event, result string) {
	if n.cfg.Metrics != nil {
		n.cfg.Metrics.Notification(event, result)
	}
}

// redactURL keeps a webhook URL's scheme and host for logs: its path and
// query often carry a secret (chat webhooks do).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid url)"
	}
	return u.Scheme + "://" + u.Host + "/..."
}

// redactErr drops the URL a *url.Error repeats.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
