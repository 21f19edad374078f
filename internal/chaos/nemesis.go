package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Nemesis timing.
const (
	gapMin     = 3 * time.Second // between two faults of one lane
	gapMax     = 8 * time.Second
	healthGate = 30 * time.Second // a server fault waits this long at most for every server to serve
)

// faultSpan bounds how long each kind of fault lasts. Pauses outlast the
// shard groups' election timeout (2 s) by far.
var faultSpan = map[string][2]time.Duration{
	FaultServerKill:     {3 * time.Second, 10 * time.Second},
	FaultServerPause:    {5 * time.Second, 12 * time.Second},
	FaultPartitionOne:   {5 * time.Second, 15 * time.Second},
	FaultPartitionTwo:   {5 * time.Second, 15 * time.Second},
	FaultPartitionAlone: {5 * time.Second, 15 * time.Second},
	FaultDiskFull:       {8 * time.Second, 20 * time.Second},
	FaultClientKill:     {1 * time.Second, 5 * time.Second},
	FaultClientPause:    {3 * time.Second, 8 * time.Second},
}

// TODO: no clock-skew, packet delay or reordering, and no fsync-error
// faults (the last needs a server-side hook: a LogStore that fails on
// demand); bugs that only those expose go unseen.

// Step is one planned fault. Server faults run one at a time in the
// server lane (so a shard's quorum of 2 of 3 always lives), client faults
// in the client lane, both lanes at once.
type Step struct {
	Lane   string        `json:"lane"` // "server" or "client"
	At     time.Duration `json:"at"`   // planned start, from the fault phase's start
	Kind   string        `json:"kind"`
	Target int           `json:"target"`
	Peer   int           `json:"peer,omitempty"` // the other server of a pair partition
	For    time.Duration `json:"for"`
}

// Plan draws the fault schedule of a run from seed: the same seed and
// configuration give the same schedule.
func Plan(seed int64, cfg Config, kinds []string, diskServer int) []Step {
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	var server, client []string
	for _, k := range AllFaultKinds {
		if !slices.Contains(kinds, k) {
			continue
		}
		if isClientFault(k) {
			client = append(client, k)
		} else {
			server = append(server, k)
		}
	}
	steps := planLane(rng, "server", server, cfg, diskServer)
	return append(steps, planLane(rng, "client", client, cfg, diskServer)...)
}

func planLane(rng *rand.Rand, lane string, kinds []string, cfg Config, diskServer int) []Step {
	if len(kinds) == 0 {
		return nil
	}
	var steps []Step
	at := between(rng, 0, gapMax)
	for at < cfg.FaultPhase {
		kind := kinds[rng.IntN(len(kinds))]
		span := faultSpan[kind]
		s := Step{Lane: lane, At: at, Kind: kind, For: between(rng, span[0], span[1])}
		switch {
		case lane == "client":
			s.Target = rng.IntN(cfg.Clients)
		case kind == FaultDiskFull:
			s.Target = diskServer
		default:
			s.Target = rng.IntN(cfg.Servers)
			s.Peer = (s.Target + 1 + rng.IntN(cfg.Servers-1)) % cfg.Servers
		}
		steps = append(steps, s)
		at += s.For + between(rng, gapMin, gapMax)
	}
	return steps
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)).Truncate(100*time.Millisecond)
}

// nemesis carries out a plan and records the faults.
type nemesis struct {
	c    *cluster
	fw   *firewall  // nil: partitions are not planned
	disk *smallDisk // nil: disk-full is not planned
	log  *slog.Logger

	mu     sync.Mutex
	faults []Fault
}

// run carries out steps from start until end; every fault it injects is
// healed before it returns, also when ctx ends.
func (n *nemesis) run(ctx context.Context, steps []Step, start, end time.Time) {
	var wg sync.WaitGroup
	for _, lane := range []string{"server", "client"} {
		var mine []Step
		for _, s := range steps {
			if s.Lane == lane {
				mine = append(mine, s)
			}
		}
		wg.Go(func() { n.runLane(ctx, mine, start, end) })
	}
	wg.Wait()
}

func (n *nemesis) runLane(ctx context.Context, steps []Step, start, end time.Time) {
	for _, s := range steps {
		if !pause(ctx, time.Until(start.Add(s.At))) || !time.Now().Before(end) {
			return
		}
		if s.Lane == "server" {
			deadline := time.Now().Add(healthGate)
			for !n.c.allHealthy() && time.Now().Before(deadline) && pause(ctx, 250*time.Millisecond) {
			}
		}
		n.inject(ctx, s)
	}
}

// inject applies one fault, holds it, heals it and records it.
func (n *nemesis) inject(ctx context.Context, s Step) {
	f := Fault{Kind: s.Kind, Start: time.Now()}
	heal, err := n.apply(s, &f)
	if err != nil {
		n.log.Warn("fault not injected", "kind", s.Kind, "target", f.Target, "error", err)
		return
	}
	n.log.Info("fault injected", "kind", s.Kind, "target", f.Target, "peer", f.Peer, "for", s.For)
	pause(ctx, s.For)
	if err := heal(); err != nil {
		f.Note = "heal: " + err.Error()
		n.log.Error("heal fault", "kind", s.Kind, "target", f.Target, "error", err)
	}
	f.End = time.Now()
	n.mu.Lock()
	n.faults = append(n.faults, f)
	n.mu.Unlock()
}

// apply injects s and returns what heals it.
func (n *nemesis) apply(s Step, f *Fault) (func() error, error) {
	if s.Lane == "client" {
		w := n.c.workers[s.Target]
		f.Target = w.id
		return n.stopOrKill(w.proc, s.Kind == FaultClientKill)
	}
	srv := n.c.servers[s.Target]
	f.Target = srv.id
	switch s.Kind {
	case FaultServerKill, FaultServerPause:
		return n.stopOrKill(srv.proc, s.Kind == FaultServerKill)
	case FaultPartitionOne, FaultPartitionTwo:
		f.Peer = n.c.servers[s.Peer].id
		return n.fw.heal, n.fw.cut(s.Target, s.Peer, s.Kind == FaultPartitionTwo)
	case FaultPartitionAlone:
		for o := range n.c.servers {
			if o == s.Target {
				continue
			}
			if err := n.fw.cut(s.Target, o, true); err != nil {
				_ = n.fw.heal()
				return nil, fmt.Errorf("isolate: %w", err)
			}
		}
		return n.fw.heal, nil
	case FaultDiskFull:
		filled, err := n.disk.fill()
		f.Note = fmt.Sprintf("filled %d bytes", filled)
		return n.disk.free, err
	}
	return nil, fmt.Errorf("unknown fault kind %q", s.Kind)
}

// stopOrKill SIGKILLs p (healed by starting it again) or SIGSTOPs it
// (healed by SIGCONT).
func (n *nemesis) stopOrKill(p *proc, kill bool) (func() error, error) {
	if kill {
		return p.start, p.kill()
	}
	return func() error { return p.signal(syscall.SIGCONT) }, p.signal(syscall.SIGSTOP)
}

func (n *nemesis) recorded() []Fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Fault(nil), n.faults...)
}
