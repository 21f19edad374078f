package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/testsignal"
	"github.com/swarmsched/swarm/protocol"
)

// resultFlushTimeout bounds how long Stop waits for the server to confirm
// the last results.
const resultFlushTimeout = 5 * time.Second

// logQueue bounds the log messages waiting for the connection; more are
// dropped (the output tail in the result keeps the end of the output).
const logQueue = 256

// Client is a swarm worker. Create it with New, register handlers with
// Handle, then Start it; it runs until Stop is called or the context given
// to Start is cancelled, and then drains. Its methods are safe for
// concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	servers []string // WebSocket URLs

	mu       sync.Mutex
	handlers map[string]Handler
	started  bool

	stopCh      chan struct{}
	stopOnce    sync.Once
	abandonCh   chan struct{}
	abandonOnce sync.Once
	doneCh      chan struct{}
	drainCh     chan struct{} // closed when the drain begins

	// Set by Start.
	id        string
	journal   *journal
	runner    *runner
	logs      chan protocol.Log
	acks      chan protocol.Ack // of fires read from Kafka
	kafka     *kafkaConsumer    // nil without KafkaTopic
	connected atomic.Bool

	// Knobs tests set before Start.
	firstServer int           // index of the first server to dial; -1: random
	maxBackoff  time.Duration // MaxBackoff

	// testSignals are no-ops unless a test arms them.
	testSignals struct {
		connected testsignal.Signal[string] // the URL of an established session
	}
}

// New returns a client for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()

	servers := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		servers[i], _ = connectURL(s) // Validate checked them
	}
	return &Client{
		cfg:         cfg,
		log:         cfg.Logger,
		servers:     servers,
		handlers:    map[string]Handler{},
		stopCh:      make(chan struct{}),
		abandonCh:   make(chan struct{}),
		doneCh:      make(chan struct{}),
		drainCh:     make(chan struct{}),
		logs:        make(chan protocol.Log, logQueue),
		acks:        make(chan protocol.Ack, ackQueue),
		firstServer: -1,
		maxBackoff:  MaxBackoff,
	}, nil
}

// Handle registers h for jobs whose executor is {"kind": "handler",
// "name": name}. Call it before Start; the names are announced in the
// hello. It panics on an invalid or repeated name, a nil h, or a call
// after Start: these are wiring mistakes.
func (c *Client) Handle(name string, h Handler) {
	if err := api.CheckName("handler", name); err != nil {
		panic(fmt.Sprintf("client: Handle: %v", err))
	}
	if h == nil {
		panic("client: Handle: nil handler for " + name)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		panic("client: Handle called after Start")
	}
	if _, ok := c.handlers[name]; ok {
		panic("client: Handle: handler " + name + " registered twice")
	}
	c.handlers[name] = h
}

// ID returns the client's id; it is known once Start returned.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Start opens the journal (with a DataDir), takes back the runs an
// earlier client left there, and starts connecting. The client runs until
// ctx is cancelled or Stop is called; either drains it. Start returns an
// error when the journal cannot be opened, or when called twice.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("start client: already started")
	}

	if err := c.open(); err != nil {
		return fmt.Errorf("start client: %w", err)
	}
	c.started = true
	go c.lifecycle(ctx)
	return nil
}

// open prepares the journal, the id and the runner. Called with c.mu held.
func (c *Client) open() error {
	c.id = c.cfg.ID
	if c.cfg.DataDir != "" {
		if err := os.MkdirAll(c.cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
		j, err := openJournal(c.cfg.DataDir)
		if err != nil {
			return err
		}
		c.journal = j
		if c.id == "" {
			if c.id, err = j.clientID(); err != nil {
				_ = j.close()
				return err
			}
		}
	}
	if c.id == "" {
		c.id = defaultID()
	}
	c.log = c.log.With("client_id", c.id)

	var err error
	if c.cfg.KafkaTopic != "" {
		c.kafka, err = newKafkaConsumer(c)
	}
	var r *runner
	if err == nil {
		rcfg := c.cfg
		rcfg.Logger = c.log
		r, err = newRunner(rcfg, c.handlers, c.journal, c.enqueueLog)
	}
	if err == nil && c.journal != nil {
		err = r.recoverJournal()
	}
	if err != nil {
		if c.kafka != nil {
			c.kafka.cl.Close()
		}
		if c.journal != nil {
			_ = c.journal.close()
		}
		return err
	}
	c.runner = r
	return nil
}

// Stop drains the client: it tells the server it takes no new fires,
// waits up to DrainTimeout for running work, hands back what still runs
// (killed, reported lost), waits briefly for the server to confirm the
// last results, and closes the connection. Stop blocks until every
// goroutine of the client has returned. It may be called more than once,
// and before Start.
func (c *Client) Stop() {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return
	}
	c.stopOnce.Do(func() { close(c.stopCh) })
	<-c.doneCh
}

// Run starts the client, runs it until ctx is cancelled, then drains it
// as Stop does.
func (c *Client) Run(ctx context.Context) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	c.Stop()
	return nil
}

// abandon stops the client as a crash would: no drain, no kill, no
// result. Processes under the shim keep running. Only tests call it.
func (c *Client) abandon() {
	c.abandonOnce.Do(func() { close(c.abandonCh) })
	<-c.doneCh
}

// lifecycle owns the connection loop and the end of the client.
func (c *Client) lifecycle(ctx context.Context) {
	defer close(c.doneCh)

	connCtx, cancelConn := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { c.connect(connCtx) })
	if c.kafka != nil {
		wg.Go(func() { c.kafka.run(connCtx) })
	}

	select {
	case <-ctx.Done():
		c.drain()
	case <-c.stopCh:
		c.drain()
	case <-c.abandonCh:
	}

	cancelConn()
	wg.Wait()
	c.runner.abandon() // every run has ended after a drain; this only waits
	if c.journal != nil {
		if err := c.journal.close(); err != nil {
			c.log.Warn("close journal failed", "error", err)
		}
	}
	c.log.Info("client stopped")
}

// drain refuses new fires, lets running work finish within DrainTimeout,
// hands back the rest, and waits for the last results to be confirmed.
func (c *Client) drain() {
	c.runner.setDraining()
	close(c.drainCh)
	c.log.Info("draining", "running", c.runner.count(), "drain_timeout", c.cfg.DrainTimeout)

	if !c.runner.waitUntil(c.cfg.DrainTimeout, c.runner.idleLocked) {
		n := c.runner.handBack()
		c.log.Warn("drain timeout, handing back runs as lost", "runs", n)
		if !c.runner.waitUntil(c.cfg.KillGrace+pipeDrainDelay+time.Second, c.runner.idleLocked) {
			c.log.Error("runs did not end after kill", "runs", c.runner.count())
		}
	}

	if c.connected.Load() && !c.runner.waitUntil(resultFlushTimeout, c.runner.confirmedLocked) {
		c.log.Warn("results not confirmed before stop", "results", len(c.runner.unconfirmed()), "journalled", c.journal != nil)
	}
	c.log.Info("drained", "unconfirmed_results", len(c.runner.unconfirmed()))
}

// enqueueLog queues a run's log lines for the connection, dropping them
// when the queue is full.
func (c *Client) enqueueLog(l protocol.Log) {
	select {
	case c.logs <- l:
	default:
		c.log.Debug("log lines dropped, queue full", "exec_id", l.ExecID, "lines", len(l.Lines))
	}
}

// hello is the registration sent on every connection.
func (c *Client) hello() protocol.Hello {
	c.mu.Lock()
	names := make([]string, 0, len(c.handlers))
	for name := range c.handlers {
		names = append(names, name)
	}
	c.mu.Unlock()
	slices.Sort(names)

	return protocol.Hello{
		Protocol: protocol.Version,
		ID:       c.id,
		Group:    c.cfg.Group,
		Capacity: c.cfg.Capacity,
		Labels:   c.cfg.Labels,
		Handlers: names,
		Software: c.cfg.Software,
		Running:  c.runner.running(),
	}
}
