package shard

import (
	"cmp"
	"slices"
	"sort"

	"github.com/swarmsched/swarm/fsm"
)

// DefaultMaxMovesPerServer bounds the replica moves a server takes part in
// at once (as source or destination).
const DefaultMaxMovesPerServer = 2

// ShardView is what a shard's leader last reported of its group.
type ShardView struct {
	Leader    string
	Voters    []string
	Nonvoters []string

	// FiresPerSecond is the shard's recent fire rate, which leader
	// balancing spreads.
	FiresPerSecond float64

	// Warming: the shard fires, and its leader took over too recently to
	// know at what rate. Leader balancing then counts leaderships only,
	// so rates move leaderships at most about once per rate window, not
	// after every reading of a load that a move just disturbed.
	Warming bool
}

// PlanInput is everything placement decides from. Plan does not read the
// clock or any state of its own.
type PlanInput struct {
	State *fsm.MetaState

	// Up lists the servers seen recently (failure detection or a recent
	// report): only they receive new replicas or leaderships.
	Up map[string]bool

	// Gone lists the servers unseen for longer than the dead-server
	// timeout: their replicas are re-created elsewhere. A server neither
	// up nor gone is suspect: it keeps its replicas, and gets nothing new.
	Gone map[string]bool

	// Shards holds the latest report of each shard's leader.
	Shards map[int]ShardView

	// MaxMovesPerServer defaults to DefaultMaxMovesPerServer.
	MaxMovesPerServer int
}

// Plan returns the changes to the desired replica sets and preferred
// leaders that move the cluster toward: every shard on Replicas servers
// that are alive and not leaving; replicas even across servers; shard
// leaderships spread by fire load. Each change is one step: a new replica
// is added first, and a replica is removed only once every other desired
// replica is a voter, and never while it leads.
func Plan(in PlanInput) []fsm.ShardInfo {
	p := newPlanner(in)
	var out []fsm.ShardInfo
	for _, sh := range in.State.Shards {
		if op, ok := p.repair(sh); ok {
			out = append(out, op)
		}
	}
	if len(out) > 0 {
		return out
	}
	if op, ok := p.rebalance(); ok {
		return []fsm.ShardInfo{op}
	}
	if op, ok := p.balanceLeaders(); ok {
		return []fsm.ShardInfo{op}
	}
	return nil
}

type planner struct {
	in       PlanInput
	good     []string       // servers whose replicas count, sorted
	eligible []string       // good servers that may receive more, sorted
	count    map[string]int // replicas per good server (desired sets)
	moves    map[string]int // moves in flight per server
	maxMoves int
	target   int // replicas per shard
}

func newPlanner(in PlanInput) *planner {
	p := &planner{in: in, count: map[string]int{}, moves: map[string]int{}, maxMoves: in.MaxMovesPerServer}
	if p.maxMoves <= 0 {
		p.maxMoves = DefaultMaxMovesPerServer
	}
	for id, srv := range in.State.Servers {
		if srv.State == fsm.ServerAlive && !in.Gone[id] {
			p.good = append(p.good, id)
			p.count[id] = 0
			if in.Up[id] {
				p.eligible = append(p.eligible, id)
			}
		}
	}
	sort.Strings(p.good)
	sort.Strings(p.eligible)
	p.target = min(max(in.State.Replicas, 1), len(p.good))
	for _, sh := range in.State.Shards {
		for _, r := range sh.Replicas {
			if _, ok := p.count[r]; ok {
				p.count[r]++
			}
		}
		if len(sh.Replicas) > p.target {
			for _, r := range sh.Replicas {
				p.moves[r]++
			}
		}
	}
	return p
}

func (p *planner) isGood(id string) bool { _, ok := p.count[id]; return ok }

func (p *planner) isEligible(id string) bool { return slices.Contains(p.eligible, id) }

// repair adds replicas to a shard short of good ones, and finishes moves:
// it drops a surplus replica once the others are voters.
func (p *planner) repair(sh fsm.ShardInfo) (fsm.ShardInfo, bool) {
	good := 0
	for _, r := range sh.Replicas {
		if p.isGood(r) {
			good++
		}
	}
	if good < p.target {
		return p.grow(sh, p.target-good)
	}
	if len(sh.Replicas) > p.target {
		return p.shrink(sh)
	}
	if sh.Leader != "" && !p.isEligible(sh.Leader) {
		sh.Leader = "" // a preferred leader that left, died or went quiet
		return sh, true
	}
	return fsm.ShardInfo{}, false
}

// grow adds n replicas on the eligible servers holding the fewest.
func (p *planner) grow(sh fsm.ShardInfo, n int) (fsm.ShardInfo, bool) {
	added := false
	for range n {
		to, ok := p.leastLoaded(sh.Replicas)
		if !ok {
			break
		}
		sh.Replicas = append(slices.Clone(sh.Replicas), to)
		p.count[to]++
		added = true
	}
	return sh, added
}

// leastLoaded picks the eligible server with the fewest replicas that is
// not in exclude.
func (p *planner) leastLoaded(exclude []string) (string, bool) {
	best, found := "", false
	for _, id := range p.eligible {
		if slices.Contains(exclude, id) {
			continue
		}
		if !found || p.count[id] < p.count[best] {
			best, found = id, true
		}
	}
	return best, found
}

// shrink removes one surplus replica, once every good desired replica is a
// voter: first a bad one (dead or leaving), else the one on the server
// holding the most. A leader is not removed; leadership moves first.
func (p *planner) shrink(sh fsm.ShardInfo) (fsm.ShardInfo, bool) {
	view, ok := p.in.Shards[sh.ID]
	if !ok {
		return fsm.ShardInfo{}, false
	}
	for _, r := range sh.Replicas {
		if p.isGood(r) && !slices.Contains(view.Voters, r) {
			return fsm.ShardInfo{}, false // still catching up
		}
	}

	victim := p.victim(sh)
	if victim == view.Leader {
		to := p.otherVoter(sh, view, victim)
		if to == "" || sh.Leader == to {
			return fsm.ShardInfo{}, false
		}
		sh.Leader = to
		return sh, true
	}
	sh.Replicas = slices.DeleteFunc(slices.Clone(sh.Replicas), func(r string) bool { return r == victim })
	if sh.Leader == victim {
		sh.Leader = ""
	}
	return sh, true
}

// victim picks the replica to drop: a bad one (dead, leaving) first, else
// the one on the server holding the most. When that is the leader, shrink
// moves the leadership first.
func (p *planner) victim(sh fsm.ShardInfo) string {
	for _, r := range sh.Replicas {
		if !p.isGood(r) {
			return r
		}
	}
	victim := sh.Replicas[0]
	for _, r := range sh.Replicas[1:] {
		if p.count[r] > p.count[victim] || (p.count[r] == p.count[victim] && r > victim) {
			victim = r
		}
	}
	return victim
}

func (p *planner) otherVoter(sh fsm.ShardInfo, view ShardView, not string) string {
	for _, r := range sh.Replicas {
		if r != not && p.isEligible(r) && slices.Contains(view.Voters, r) {
			return r
		}
	}
	return ""
}

// rebalance starts one move from the server holding the most replicas to
// the one holding the fewest, when they differ by more than one.
func (p *planner) rebalance() (fsm.ShardInfo, bool) {
	if len(p.eligible) < 2 || len(p.eligible) < len(p.good) {
		return fsm.ShardInfo{}, false // not while a server is suspect
	}
	hi, lo := p.eligible[0], p.eligible[0]
	for _, id := range p.eligible {
		if p.count[id] > p.count[hi] {
			hi = id
		}
		if p.count[id] < p.count[lo] {
			lo = id
		}
	}
	if p.count[hi]-p.count[lo] <= 1 || p.moves[hi] >= p.maxMoves || p.moves[lo] >= p.maxMoves {
		return fsm.ShardInfo{}, false
	}
	for _, sh := range p.in.State.Shards {
		if len(sh.Replicas) == p.target && slices.Contains(sh.Replicas, hi) && !slices.Contains(sh.Replicas, lo) {
			sh.Replicas = append(slices.Clone(sh.Replicas), lo)
			return sh, true
		}
	}
	return fsm.ShardInfo{}, false
}

// leaderBalanceMargin is how much of a server's mean load a leader move
// must gain. A move costs a hand-over: the new leader re-sends every fire
// not yet acknowledged (duplicates the workers drop) and fires wait while
// it takes over. Without a margin, loads that differ by noise, or shards
// of equal weight on an uneven count of servers, move leaders back and
// forth for ever.
const leaderBalanceMargin = 0.1

// balanceLeaders moves one shard's preferred leader from the server with
// the highest fire load to the one with the lowest, when no move is in
// flight and the move narrows the gap by more than leaderBalanceMargin.
// While any firing shard's rate is not known yet (ShardView.Warming), it
// spreads leaderships by count alone: a new cluster spreads at once, and
// after a move the rates settle for a minute before they move anything.
func (p *planner) balanceLeaders() (fsm.ShardInfo, bool) {
	for _, sh := range p.in.State.Shards {
		if len(sh.Replicas) != p.target {
			return fsm.ShardInfo{}, false
		}
	}
	byRate := true
	for _, sh := range p.in.State.Shards {
		v, ok := p.in.Shards[sh.ID]
		if !ok || v.Leader == "" {
			return fsm.ShardInfo{}, false // wait until every shard reports
		}
		if sh.Leader != "" && sh.Leader != v.Leader {
			return fsm.ShardInfo{}, false // a transfer is under way
		}
		byRate = byRate && !v.Warming
	}
	weight := func(v ShardView) float64 {
		if byRate {
			return 1 + v.FiresPerSecond
		}
		return 1
	}
	load := map[string]float64{}
	for _, id := range p.eligible {
		load[id] = 0
	}
	for _, sh := range p.in.State.Shards {
		v := p.in.Shards[sh.ID]
		if _, ok := load[v.Leader]; ok {
			load[v.Leader] += weight(v)
		}
	}

	total := 0.0
	for _, l := range load {
		total += l
	}
	var best fsm.ShardInfo
	bestGain := leaderBalanceMargin * total / float64(max(len(load), 1))
	for _, sh := range p.in.State.Shards {
		v := p.in.Shards[sh.ID]
		from := v.Leader
		if _, ok := load[from]; !ok {
			continue // its leader is suspect: leave it be
		}
		for _, to := range sh.Replicas {
			if to == from || !p.isEligible(to) || !slices.Contains(v.Voters, to) {
				continue
			}
			w := weight(v)
			// Move only if it narrows the gap between the two servers.
			if gain := load[from] - load[to] - w; gain > bestGain+1e-9 {
				best, bestGain = sh, gain
				best.Leader = to
			}
		}
	}
	return best, best.Leader != ""
}

// MetaVoters returns the servers that should vote in the meta group: the n
// servers that joined first, keeping current voters that are not gone;
// a server that is not up is not made a voter.
func MetaVoters(st *fsm.MetaState, up, gone map[string]bool, current []string, n int) []string {
	var keep, rest []*fsm.ServerInfo
	for id, srv := range st.Servers {
		if srv.State != fsm.ServerAlive || gone[id] {
			continue
		}
		if slices.Contains(current, id) {
			keep = append(keep, srv)
		} else if up[id] {
			rest = append(rest, srv)
		}
	}
	byJoin := func(a, b *fsm.ServerInfo) int {
		if a.JoinedMS != b.JoinedMS {
			return cmp.Compare(a.JoinedMS, b.JoinedMS)
		}
		return cmp.Compare(a.ID, b.ID)
	}
	slices.SortFunc(keep, byJoin)
	slices.SortFunc(rest, byJoin)
	var out []string
	for _, srv := range append(keep, rest...) {
		if len(out) == n {
			break
		}
		out = append(out, srv.ID)
	}
	sort.Strings(out)
	return out
}
