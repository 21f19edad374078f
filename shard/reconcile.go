package shard

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/fsm"
)

// Reconcile defaults.
const (
	// ReconcileEvery is how often a shard leader compares its group's Raft
	// configuration with the desired replicas.
	ReconcileEvery = time.Second

	// CatchUpEntries: a non-voter whose applied index is this close to the
	// leader's last index is caught up and may vote.
	CatchUpEntries = 256

	membershipTimeout = 10 * time.Second
)

// Membership is what a shard leader needs to know to move its group's
// Raft configuration toward the meta group's desired replicas.
type Membership interface {
	// Desired returns the shard's desired replicas and preferred leader.
	Desired(shard int) (fsm.ShardInfo, bool)

	// RaftAddr returns a server's Raft address.
	RaftAddr(server string) (string, bool)

	// Applied returns the applied index a server last reported for the
	// shard.
	Applied(shard int, server string) (uint64, bool)
}

// reconciler changes one shard group's configuration, one step per pass.
type reconciler struct {
	shard int
	self  string
	r     *raft.Raft
	m     Membership
	log   *slog.Logger
	ho    Handover
}

func (c *reconciler) run(ctx context.Context) {
	t := time.NewTicker(ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.r.State() != raft.Leader {
			continue
		}
		if err := c.step(); err != nil {
			c.log.Warn("shard membership change failed", "error", err)
		}
	}
}

// step makes at most one configuration change: add a missing replica as a
// non-voter, promote a caught-up non-voter, remove a surplus member once
// every desired replica votes (handing leadership away first when the
// surplus member is this one), or hand leadership to the preferred leader.
func (c *reconciler) step() error {
	want, ok := c.m.Desired(c.shard)
	if !ok {
		return nil
	}
	fut := c.r.GetConfiguration()
	if err := fut.Error(); err != nil {
		return fmt.Errorf("get configuration: %w", err)
	}
	have := map[string]raft.ServerSuffrage{}
	for _, s := range fut.Configuration().Servers {
		have[string(s.ID)] = s.Suffrage
	}

	if id, ok := c.missing(want, have); ok {
		return c.addNonvoter(id)
	}
	if id, ok := c.caughtUpNonvoter(want, have); ok {
		return c.promote(id)
	}
	if done, err := c.removeSurplus(want, have); done || err != nil {
		return err
	}
	return c.preferLeader(want, have)
}

func (c *reconciler) missing(want fsm.ShardInfo, have map[string]raft.ServerSuffrage) (string, bool) {
	for _, id := range want.Replicas {
		if _, ok := have[id]; !ok {
			return id, true
		}
	}
	return "", false
}

func (c *reconciler) caughtUpNonvoter(want fsm.ShardInfo, have map[string]raft.ServerSuffrage) (string, bool) {
	for _, id := range want.Replicas {
		if have[id] == raft.Nonvoter && c.caughtUp(id) {
			return id, true
		}
	}
	return "", false
}

func (c *reconciler) caughtUp(id string) bool {
	applied, ok := c.m.Applied(c.shard, id)
	if !ok || applied == 0 {
		return false // it has not applied anything yet: not even reached
	}
	last := c.r.LastIndex()
	return applied+CatchUpEntries >= last
}

func (c *reconciler) addNonvoter(id string) error {
	addr, ok := c.m.RaftAddr(id)
	if !ok {
		return fmt.Errorf("add %s: no raft address", id)
	}
	c.log.Info("shard replica added", "server", id, "voter", false)
	return c.r.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, membershipTimeout).Error()
}

func (c *reconciler) promote(id string) error {
	addr, ok := c.m.RaftAddr(id)
	if !ok {
		return fmt.Errorf("promote %s: no raft address", id)
	}
	c.log.Info("shard replica promoted", "server", id)
	return c.r.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, membershipTimeout).Error()
}

func (c *reconciler) removeSurplus(want fsm.ShardInfo, have map[string]raft.ServerSuffrage) (bool, error) {
	allVote := true
	for _, id := range want.Replicas {
		allVote = allVote && have[id] == raft.Voter
	}
	for id, suffrage := range have {
		if slices.Contains(want.Replicas, id) {
			continue
		}
		if suffrage != raft.Voter {
			return true, c.remove(id)
		}
		if !allVote {
			continue
		}
		if id == c.self {
			return true, c.handOff(want, have)
		}
		return true, c.remove(id)
	}
	return false, nil
}

func (c *reconciler) remove(id string) error {
	c.log.Info("shard replica removed", "server", id)
	return c.r.RemoveServer(raft.ServerID(id), 0, membershipTimeout).Error()
}

// handOff transfers leadership away before this member is removed: a
// leader's replica is never removed while it leads. It tries the preferred
// leader, then the other voting replicas, caught-up ones first, each once
// per term (Handover); when every one has been tried, the leader removes
// itself, which makes raft step it down once the change commits: an
// election instead of a hand-over, but never a member stuck leading a
// group it should leave.
func (c *reconciler) handOff(want fsm.ShardInfo, have map[string]raft.ServerSuffrage) error {
	targets := c.handOffTargets(want, have)
	if len(targets) == 0 {
		return nil // no voter to leave the group to
	}
	for _, to := range targets {
		if !c.ho.Tried(c.r, raft.ServerID(to)) {
			return c.transfer(to)
		}
	}
	return c.remove(c.self)
}

// handOffTargets lists the voting replicas leadership may go to, the
// preferred leader first, then the caught-up ones.
func (c *reconciler) handOffTargets(want fsm.ShardInfo, have map[string]raft.ServerSuffrage) []string {
	var ready, behind []string
	for _, id := range want.Replicas {
		if id == c.self || have[id] != raft.Voter {
			continue
		}
		switch {
		case id == want.Leader:
			ready = append([]string{id}, ready...)
		case c.caughtUp(id):
			ready = append(ready, id)
		default:
			behind = append(behind, id)
		}
	}
	return append(ready, behind...)
}

func (c *reconciler) preferLeader(want fsm.ShardInfo, have map[string]raft.ServerSuffrage) error {
	to := want.Leader
	if to == "" || to == c.self || have[to] != raft.Voter || !c.caughtUp(to) {
		return nil
	}
	if c.ho.Tried(c.r, raft.ServerID(to)) {
		return nil // it failed this term; balance waits for the next
	}
	return c.transfer(to)
}

func (c *reconciler) transfer(to string) error {
	addr, ok := c.m.RaftAddr(to)
	if to == "" || !ok {
		return nil
	}
	c.log.Info("shard leadership transfer", "to", to)
	return c.ho.Transfer(c.r, raft.ServerID(to), raft.ServerAddress(addr))
}
