package shard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/internal/clock"
	"github.com/swarmsched/swarm/internal/logx"
	"github.com/swarmsched/swarm/internal/testsignal"
	"github.com/swarmsched/swarm/scheduler"
)

// Firer defaults.
const (
	DefaultLookahead        = time.Second
	DefaultTick             = 100 * time.Millisecond
	DefaultMisfireThreshold = 60 * time.Second
	DefaultBatchMax         = 2000
	DefaultAckTimeout       = 10 * time.Second
	DefaultClientGrace      = 30 * time.Second
	DefaultRetention        = 7 * 24 * time.Hour
	DefaultRetainEvery      = 10 * time.Minute
	DefaultUpdateFlush      = 20 * time.Millisecond
	DefaultUpdateBatch      = 512

	// maxFiresPerItem bounds the fires one job adds to one batch (a short
	// interval or replayed misfires); the rest go in the next batch.
	maxFiresPerItem = 100

	// noClientRetry is how often a fire waiting for a client looks again.
	noClientRetry = 250 * time.Millisecond
)

// FirerConfig configures a Firer.
type FirerConfig struct {
	// Shard is the shard number. NodeID is this server's id.
	Shard  int
	NodeID string

	// Lookahead is how far ahead fires are committed. Defaults to
	// DefaultLookahead.
	Lookahead time.Duration

	// Tick is how often the due index is scanned. Defaults to DefaultTick.
	Tick time.Duration

	// MisfireThreshold: a fire later than this is a misfire. Defaults to
	// DefaultMisfireThreshold.
	MisfireThreshold time.Duration

	// BatchMax bounds the jobs in one FireBatch. Defaults to
	// DefaultBatchMax.
	BatchMax int

	// AckTimeout: a dispatched fire not acknowledged in this time is sent
	// again (same execution id and attempt). Defaults to DefaultAckTimeout.
	AckTimeout time.Duration

	// ClientGrace: a client gone longer than this loses its runs (state
	// lost). Defaults to DefaultClientGrace.
	ClientGrace time.Duration

	// Keep bounds the execution history per job (fsm.DefaultKeep) and
	// Retention its age (DefaultRetention).
	Keep      int
	Retention time.Duration

	// Calendars resolves a calendar by name. Nil means no calendars.
	Calendars func(name string) (scheduler.Calendar, error)

	// Dispatcher picks targets and delivers fires. Required.
	Dispatcher Dispatcher

	// Metrics receives the loop's measurements. Nil means none.
	Metrics Metrics

	// Notifier sends jobs' alert webhooks. Nil means none are sent.
	Notifier Notifier

	// Clock defaults to the wall clock.
	Clock clock.Clock

	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

func (c FirerConfig) withDefaults() FirerConfig {
	if c.Lookahead <= 0 {
		c.Lookahead = DefaultLookahead
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.MisfireThreshold <= 0 {
		c.MisfireThreshold = DefaultMisfireThreshold
	}
	if c.BatchMax <= 0 {
		c.BatchMax = DefaultBatchMax
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.ClientGrace <= 0 {
		c.ClientGrace = DefaultClientGrace
	}
	if c.Keep <= 0 {
		c.Keep = fsm.DefaultKeep
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = noMetrics{}
	}
	return c
}

// Metrics receives what a server measures of its Raft groups and fire
// loops; the server plugs in its Prometheus collectors. Calls must not
// block.
type Metrics interface {
	// FireOutcome counts what became of a fire: released (an attempt
	// handed to its target), resent (handed again, unacknowledged),
	// undelivered, or skipped_<reason> once the skip is committed.
	FireOutcome(outcome string)

	// FireLateness observes how long after its instant (or its retry's
	// not-before time) an attempt was released.
	FireLateness(d time.Duration)

	// ExecutionFinished counts a committed result by the state it left
	// the execution in: a terminal state, or "retrying".
	ExecutionFinished(state string)

	// UpdateBatch observes how many updates one Raft entry carried.
	UpdateBatch(n int)

	// RaftApply observes how long a proposal to group ("meta",
	// "shard-3") took to commit and apply.
	RaftApply(group string, d time.Duration)

	// LeaderChange counts a change of this member's leadership of group:
	// gained, lost, or regained in a new term.
	LeaderChange(group string)
}

type noMetrics struct{}

func (noMetrics) FireOutcome(string)              {}
func (noMetrics) FireLateness(time.Duration)      {}
func (noMetrics) ExecutionFinished(string)        {}
func (noMetrics) UpdateBatch(int)                 {}
func (noMetrics) RaftApply(string, time.Duration) {}
func (noMetrics) LeaderChange(string)             {}

// Notifier sends a job's alert webhooks (api.Job.Notify). The shard
// leader calls it once per event after the result that caused it is
// committed; Notify must queue and return at once.
type Notifier interface {
	Notify(event string, job *api.Job, e *api.Execution, at time.Time)
}

// Validate names the first invalid field.
func (c FirerConfig) Validate() error {
	if c.Dispatcher == nil {
		return errors.New("firer config: Dispatcher is required")
	}
	if c.NodeID == "" {
		return errors.New("firer config: NodeID is required")
	}
	return nil
}

// proposer commits shard commands (a *Group; tests may fake it).
type proposer interface {
	Propose(c *fsm.Command) (*fsm.Result, error)
}

// asyncProposer starts a proposal and returns a wait for its outcome, so
// a caller can have several under way. Proposals enter the log in the
// order they were started.
type asyncProposer interface {
	ProposeAsync(c *fsm.Command) func() (*fsm.Result, error)
}

// proposeAsync starts c on g, or, when g can only propose and wait,
// commits it now and returns its outcome.
func proposeAsync(g proposer, c *fsm.Command) func() (*fsm.Result, error) {
	if a, ok := g.(asyncProposer); ok {
		return a.ProposeAsync(c)
	}
	res, err := g.Propose(c)
	return func() (*fsm.Result, error) { return res, err }
}

// barrier waits until every committed entry is applied; VerifyLeader
// confirms with a quorum that this member still leads.
type barrier interface {
	Barrier(timeout time.Duration) error
	VerifyLeader() error
}

// Firer runs a shard leader's fire loop for one term. Start it when the
// member becomes leader and Stop it when it is not: Stop waits for its
// goroutines (scan, release, updates) to exit.
type Firer struct {
	cfg   FirerConfig
	store *fsm.Shard
	group proposer
	bar   barrier
	term  uint64
	log   *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup

	rel *releaseQueue
	upd *updater

	scanFail logx.Limiter

	// refusedSince is when the group began refusing this loop's barrier
	// and proposals with raft's "leadership transfer in progress", in Unix
	// ms; 0 while it does not (Firer.RefusedFor).
	refusedSince atomic.Int64

	fired    meter
	verified time.Time // last leadership check, owned by releaseLoop

	// ready is set once this term's leader has applied every entry
	// committed before it (the Barrier passed): reads are current then.
	ready   atomic.Bool
	readyCh chan struct{} // closed with ready

	// TestSignals are no-ops unless a test arms them.
	TestSignals FirerSignals
}

// FirerSignals let tests wait for the loop's steps.
type FirerSignals struct {
	Ready     testsignal.Signal[struct{}] // barrier passed, inflight loaded
	Committed testsignal.Signal[int]      // a FireBatch committed; items applied
	Released  testsignal.Signal[string]   // an execution was handed to its target
}

// NewFirer returns a Firer for term. It starts nothing.
func NewFirer(cfg FirerConfig, store *fsm.Shard, group proposer, bar barrier, term uint64) (*Firer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f := &Firer{
		cfg:   cfg,
		store: store,
		group: group,
		bar:   bar,
		term:  term,
		log:   cfg.Logger.With("shard", cfg.Shard, "term", term),
	}
	f.fired.start(cfg.Clock.Now())
	f.scanFail.Interval = 30 * time.Second
	f.readyCh = make(chan struct{})
	f.upd = newUpdater(f)
	f.rel = newReleaseQueue()
	return f, nil
}

// RefusedFor is how long the group has refused every barrier and
// proposal of this loop as "leadership transfer in progress". A healthy
// transfer holds that for at most an election timeout plus one RPC
// timeout; far longer means the member is wedged (Handover says how) and
// only a new raft.Raft clears it (Runner.Wedged).
func (f *Firer) RefusedFor(now time.Time) time.Duration {
	since := f.refusedSince.Load()
	if since == 0 {
		return 0
	}
	return now.Sub(time.UnixMilli(since))
}

// Term is the leader term the Firer fires in.
func (f *Firer) Term() uint64 { return f.term }

// Start launches the loop. It returns at once; the loop first waits for
// every committed entry to be applied (Barrier), then re-releases the
// fires committed but not acknowledged, then scans.
func (f *Firer) Start(ctx context.Context) {
	ctx, f.cancel = context.WithCancel(ctx)
	f.wg.Add(4)
	go func() {
		defer f.wg.Done()
		f.upd.run(ctx)
	}()
	go func() {
		defer f.wg.Done()
		f.upd.settle()
	}()
	go func() {
		defer f.wg.Done()
		f.releaseLoop(ctx)
	}()
	go func() {
		defer f.wg.Done()
		f.scanLoop(ctx)
	}()
}

// Stop ends the loop and waits for its goroutines. Safe to call twice and
// before Start.
func (f *Firer) Stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
}

func (f *Firer) scanLoop(ctx context.Context) {
	if !f.recover(ctx) {
		return
	}
	f.ready.Store(true)
	close(f.readyCh)
	f.TestSignals.Ready.Signal(struct{}{})

	lastRetain := time.Time{}
	timer := f.cfg.Clock.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}

		if err := f.scanOnce(ctx); err != nil {
			f.logScanError(err)
		} else {
			f.refusedSince.Store(0)
			if f.scanFail.Recovered() {
				f.log.Info("fire loop recovered")
			}
		}
		if now := f.cfg.Clock.Now(); now.Sub(lastRetain) >= DefaultRetainEvery {
			f.retain(now)
			lastRetain = now
		}
		timer.Reset(f.cfg.Tick)
	}
}

func (f *Firer) logScanError(err error) {
	now := f.cfg.Clock.Now()
	if errors.Is(err, raft.ErrLeadershipTransferInProgress) {
		f.refusedSince.CompareAndSwap(0, now.UnixMilli())
	}
	if ok, n := f.scanFail.Allow(now); ok {
		f.log.Warn("fire loop step failed", "error", err, "suppressed", n)
	}
}

// recover runs once per term: wait until all committed entries are
// applied, then queue every execution that is committed but not done.
func (f *Firer) recover(ctx context.Context) bool {
	if bugs.skipBarrier {
		return ctx.Err() == nil
	}
	for {
		err := f.bar.Barrier(ProposeTimeout)
		if err == nil {
			f.refusedSince.Store(0)
			break
		}
		f.logScanError(fmt.Errorf("barrier: %w", err))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(f.cfg.Tick):
		}
	}
	if err := f.reload(); err != nil {
		f.logScanError(err)
	}
	return ctx.Err() == nil
}

// reload queues every pending execution of the store that the release
// queue does not hold: after a failover, and after a proposal whose
// outcome is unknown.
func (f *Firer) reload() error {
	execs, err := f.store.Inflight()
	if err != nil {
		return fmt.Errorf("load inflight: %w", err)
	}
	now := f.cfg.Clock.Now().UnixMilli()
	for _, e := range execs {
		if f.rel.awaitingAck(e.ID) {
			// Handed over by this leader and not acknowledged yet: the ack
			// timeout sends it again (overdue). A reload after a failed
			// proposal would otherwise send every such fire twice at once.
			continue
		}
		switch e.State {
		case api.ExecScheduled:
			f.rel.push(e.ID, max(e.ScheduledAt.UnixMilli(), e.NotBeforeMS))
		case api.ExecDispatched:
			// Committed and sent, never acknowledged: send again to the
			// same target with the same id; the client drops a duplicate.
			f.rel.push(e.ID, now)
		case api.ExecRunning:
			if e.Client == "@http" {
				// The call ran on the previous leader's server; whatever
				// came of it cannot be known here.
				f.upd.add(fsm.ExecUpdate{ID: e.ID, Attempt: e.Attempt, Kind: fsm.UpdResult, AtMS: now,
					State: api.ExecLost, Error: "the leader that made the http call changed"}, nil)
				continue
			}
			f.rel.watch(e.ID, cmp.Or(e.Client, e.Target))
		}
	}
	return nil
}

// scanOnce commits the fires due before now+lookahead, batch after batch.
func (f *Firer) scanOnce(ctx context.Context) error {
	for ctx.Err() == nil {
		now := f.cfg.Clock.Now()
		due, err := f.store.DueUntil(now.Add(f.cfg.Lookahead).UnixMilli(), f.cfg.BatchMax)
		if err != nil {
			return fmt.Errorf("scan due: %w", err)
		}
		if len(due) == 0 {
			return nil
		}
		items := f.plan(now, due)
		if len(items) == 0 {
			return nil
		}
		if err := f.commit(items); err != nil {
			return err
		}
		if len(due) < f.cfg.BatchMax {
			return nil
		}
	}
	return nil
}

// commit proposes one FireBatch and queues the executions that applied.
func (f *Firer) commit(items []fsm.FireItem) error {
	cmd := &fsm.Command{
		Type:      fsm.CmdFireBatch,
		NowMS:     f.cfg.Clock.Now().UnixMilli(),
		Keep:      f.cfg.Keep,
		FireBatch: &fsm.FireBatch{Term: f.term, Items: items},
	}
	if bugs.dispatchFirst {
		f.dispatchUncommitted(items)
	}
	res, err := f.group.Propose(cmd)
	if err != nil {
		// The batch may still commit; the next reload finds it.
		f.rel.needReload()
		return fmt.Errorf("commit fire batch: %w", err)
	}
	n := 0
	for i, ok := range res.Applied {
		if !ok {
			continue
		}
		n++
		for _, e := range items[i].Execs {
			if e.Skipped {
				f.cfg.Metrics.FireOutcome("skipped_" + e.Reason)
			} else {
				f.rel.push(e.ID, e.ScheduledMS)
			}
		}
	}
	f.TestSignals.Committed.Signal(n)
	return nil
}

func (f *Firer) retain(now time.Time) {
	cmd := &fsm.Command{
		Type:   fsm.CmdRetain,
		NowMS:  now.UnixMilli(),
		Keep:   f.cfg.Keep,
		Retain: &fsm.Retain{BeforeMS: now.Add(-f.cfg.Retention).UnixMilli()},
	}
	if _, err := f.group.Propose(cmd); err != nil {
		f.logScanError(fmt.Errorf("retain: %w", err))
	}
}

// Enqueue queues executions committed outside the scan (a manual fire)
// for release now.
func (f *Firer) Enqueue(ids ...string) {
	now := f.cfg.Clock.Now().UnixMilli()
	for _, id := range ids {
		f.rel.push(id, now)
	}
}

// FiresPerSecond is the rate of fires this loop handed out over the last
// minute.
func (f *Firer) FiresPerSecond() float64 { return f.fired.rate(f.cfg.Clock.Now()) }

// Warming reports whether this loop has led for less than the meter's
// window, so FiresPerSecond has not seen a full minute of the shard's
// load: leader balancing then uses the previous leader's rate and spreads
// by count, rather than mistake a leader it just moved for an idle shard.
func (f *Firer) Warming() bool { return !f.fired.full(f.cfg.Clock.Now()) }

// Pending is the number of executions queued for release.
func (f *Firer) Pending() int { return f.rel.len() }

// dispatchUncommitted is the dispatch-before-commit defect (bugs): it
// sends the planned fires now, with no committed record.
func (f *Firer) dispatchUncommitted(items []fsm.FireItem) {
	for _, it := range items {
		rec, err := f.store.Job(it.Key)
		if err != nil || rec == nil {
			continue
		}
		for _, e := range it.Execs {
			if e.Skipped || e.Target == "" {
				continue
			}
			exec := &fsm.ExecRecord{Execution: api.Execution{ID: e.ID, Job: it.Key, ScheduledAt: time.UnixMilli(e.ScheduledMS).UTC(), Attempt: 1, Piece: e.Piece}, JobID: rec.Job.ID}
			fire := buildFire(exec, rec, f.cfg.Shard, f.term, f.cfg.Clock.Now())
			fire.Leader = f.cfg.NodeID
			f.cfg.Dispatcher.Deliver(context.Background(), Target{Client: e.Target, Server: e.Server}, fire, func(error) {})
		}
	}
}

// Ready reports whether the leader has caught up with everything committed
// before its term, so what its store says is current.
func (f *Firer) Ready() bool { return f.ready.Load() }
