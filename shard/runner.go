package shard

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/swarmsched/swarm/fsm"
)

// Runner is one shard replica on this server: its Raft member, its store,
// and, while the member leads, a Firer. It owns one goroutine that follows
// leadership and starts and stops Firers.
type Runner struct {
	Shard *fsm.Shard
	Group *Group

	cfg FirerConfig
	log *slog.Logger

	mu      sync.Mutex
	firer   *Firer
	changed chan struct{} // closed and replaced when firer changes

	restartCh chan struct{}

	// leading and leadTerm are this member's leadership as follow last
	// saw it, so a change is counted once; owned by run.
	leading  bool
	leadTerm uint64

	cancel context.CancelFunc
	wg     sync.WaitGroup

	// OnFirer, if set, is called (on the runner's goroutine) with each new
	// Firer before it starts, so tests can arm its signals.
	OnFirer func(*Firer)

	// Membership, if set, lets the runner move its group's configuration
	// toward the desired replicas while it leads.
	Membership Membership
}

// NewRunner wraps an open store and group. cfg is the template of every
// term's Firer.
func NewRunner(store *fsm.Shard, g *Group, cfg FirerConfig) *Runner {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Runner{Shard: store, Group: g, cfg: cfg, log: log.With("shard", store.ID()), restartCh: make(chan struct{}, 1), changed: make(chan struct{})}
}

// Start follows leadership until Stop, and reconciles the group's
// membership while it leads.
func (r *Runner) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go r.run(ctx)
	if r.Membership != nil {
		rc := &reconciler{shard: r.Shard.ID(), self: r.cfg.NodeID, r: r.Group.Raft, m: r.Membership, log: r.log}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			rc.run(ctx)
		}()
	}
}

// Stop stops the Firer and the leadership goroutine. It does not close
// the group or the store (Close does).
func (r *Runner) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// Close stops the runner, then shuts the Raft member down and closes the
// store.
func (r *Runner) Close() error {
	r.Stop()
	r.Shard.Interrupt() // a full disk must not hold the shutdown
	err := r.Group.Close()
	if cerr := r.Shard.Close(); err == nil {
		err = cerr
	}
	return err
}

// Firer returns the Firer of the current term, or nil when this member
// does not lead.
func (r *Runner) Firer() *Firer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firer
}

func (r *Runner) run(ctx context.Context) {
	defer r.wg.Done()
	defer r.stopFirer()

	leaderCh := r.Group.Raft.LeaderCh()
	r.follow(ctx, r.Group.IsLeader())
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-leaderCh:
			r.follow(ctx, leader)
		case <-r.restartCh:
			r.stopFirer()
			r.follow(ctx, r.Group.IsLeader())
		}
	}
}

// follow starts a Firer when the member leads (a new one per term) and
// stops it when it does not.
func (r *Runner) follow(ctx context.Context, leader bool) {
	term := r.Group.Raft.CurrentTerm()
	r.noteLeadership(leader, term)
	cur := r.Firer()
	if leader && cur != nil && cur.Term() == term {
		return
	}
	r.stopFirer()
	if !leader {
		return
	}

	cfg := r.cfg
	cfg.Shard = r.Shard.ID()
	f, err := NewFirer(cfg, r.Shard, r.Group, r.Group, term)
	if err != nil {
		r.log.Error("start fire loop", "error", err)
		return
	}
	if r.OnFirer != nil {
		r.OnFirer(f)
	}
	r.log.Info("shard leadership gained", "term", term)
	f.Start(ctx)
	r.setFirer(f)
}

// setFirer makes f (nil: none) the current Firer and wakes WaitReady.
func (r *Runner) setFirer(f *Firer) *Firer {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.firer
	r.firer = f
	close(r.changed)
	r.changed = make(chan struct{})
	return old
}

// noteLeadership counts a change of this member's leadership: gained,
// lost, or held into a new term (it was lost in between). A Restart in the
// same term is no change.
func (r *Runner) noteLeadership(leader bool, term uint64) {
	if leader == r.leading && (!leader || term == r.leadTerm) {
		return
	}
	r.leading, r.leadTerm = leader, term
	r.cfg.Metrics.LeaderChange(r.Group.Name)
}

func (r *Runner) stopFirer() {
	if f := r.setFirer(nil); f != nil {
		f.Stop()
		r.log.Info("shard leadership lost", "term", f.Term())
	}
}

// Restart replaces the current Firer with a new one for the same term,
// after the state was replaced underneath it (a restore): the new loop
// reloads everything from the store. It returns at once.
func (r *Runner) Restart() {
	select {
	case r.restartCh <- struct{}{}:
	default: // one is pending already
	}
}

// WedgedAfter: a leader whose group has refused every barrier and
// proposal as "leadership transfer in progress" for this long is wedged
// (Firer.RefusedFor); a healthy transfer ends within about 12 s.
const WedgedAfter = time.Minute

// Wedged reports whether this member leads but its Raft group refuses
// every write as a leadership transfer that never ends. The owner then
// closes the replica and opens it again: the new raft.Raft starts clear,
// and the old one's stuck transfer goroutines are left behind (they
// cannot be stopped).
func (r *Runner) Wedged(now time.Time) bool {
	f := r.Firer()
	return f != nil && r.Group.IsLeader() && f.RefusedFor(now) >= WedgedAfter
}

// WaitReady waits until this member is Ready and reports whether it is;
// it gives up, reporting false, when the member stops leading or ctx ends.
func (r *Runner) WaitReady(ctx context.Context) bool {
	for {
		r.mu.Lock()
		f, changed := r.firer, r.changed
		r.mu.Unlock()
		var ready <-chan struct{} // nil: wait for a Firer
		if f != nil {
			ready = f.readyCh
		} else if !r.Group.IsLeader() {
			return false
		}
		select {
		case <-ready:
			return r.Group.IsLeader()
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// Ready reports whether this member leads and has caught up with
// everything committed before its term.
func (r *Runner) Ready() bool {
	f := r.Firer()
	return f != nil && f.Ready() && r.Group.IsLeader()
}
