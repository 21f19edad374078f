package shard_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/shard"
	"pgregory.net/rapid"
)

// cluster simulates what placement acts on: the meta state, which servers
// are up, and each shard group's Raft configuration, which a shard leader
// moves one step toward the desired set per round.
type cluster struct {
	st     *fsm.MetaState
	alive  map[string]bool
	groups map[int]*shard.ShardView
}

func newCluster(servers, shards, replicas int) *cluster {
	c := &cluster{
		st:     &fsm.MetaState{Replicas: replicas, Servers: map[string]*fsm.ServerInfo{}},
		alive:  map[string]bool{},
		groups: map[int]*shard.ShardView{},
	}
	for i := range servers {
		c.addServer(fmt.Sprintf("s%d", i), int64(i))
	}
	for i := range shards {
		c.st.Shards = append(c.st.Shards, fsm.ShardInfo{ID: i, Replicas: []string{"s0"}})
		c.groups[i] = &shard.ShardView{Leader: "s0", Voters: []string{"s0"}}
	}
	return c
}

func (c *cluster) addServer(id string, joined int64) {
	c.st.Servers[id] = &fsm.ServerInfo{ID: id, State: fsm.ServerAlive, JoinedMS: joined}
	c.alive[id] = true
}

func (c *cluster) view() map[int]shard.ShardView {
	out := map[int]shard.ShardView{}
	for id, g := range c.groups {
		out[id] = *g
	}
	return out
}

// step runs one placement pass and one reconcile round of every shard
// leader. It returns the number of placement changes.
func (c *cluster) step(t require.TestingT) int {
	gone := map[string]bool{}
	for id, up := range c.alive {
		gone[id] = !up
	}
	ops := shard.Plan(shard.PlanInput{State: c.st, Up: c.alive, Gone: gone, Shards: c.view()})
	for _, op := range ops {
		for i := range c.st.Shards {
			if c.st.Shards[i].ID == op.ID {
				c.checkOp(t, c.st.Shards[i], op)
				c.st.Shards[i] = op
			}
		}
	}
	for _, sh := range c.st.Shards {
		c.reconcile(sh)
	}
	return len(ops)
}

// checkOp asserts the safety rules of one change.
func (c *cluster) checkOp(t require.TestingT, before, after fsm.ShardInfo) {
	g := c.groups[before.ID]
	for _, r := range before.Replicas {
		if !slices.Contains(after.Replicas, r) {
			require.NotEqual(t, g.Leader, r, "shard %d: removed its leader %s", before.ID, r)
			require.Len(t, after.Replicas, len(before.Replicas)-1, "shard %d: removes one at a time", before.ID)
		}
	}
	seen := map[string]bool{}
	for _, r := range after.Replicas {
		require.False(t, seen[r], "shard %d: %s twice", before.ID, r)
		seen[r] = true
	}
	require.NotEmpty(t, after.Replicas)
}

// reconcile moves a shard's group one step toward its desired set, as the
// shard leader does: add as voter (catch-up is instant here), remove extra
// members, transfer leadership to the preferred leader; a dead leader is
// replaced by an election among live voters.
func (c *cluster) reconcile(sh fsm.ShardInfo) {
	g := c.groups[sh.ID]
	if !c.alive[g.Leader] {
		for _, v := range g.Voters {
			if c.alive[v] {
				g.Leader = v
				break
			}
		}
	}
	for _, r := range sh.Replicas {
		if !slices.Contains(g.Voters, r) && c.alive[r] {
			g.Voters = append(g.Voters, r)
		}
	}
	g.Voters = slices.DeleteFunc(g.Voters, func(v string) bool { return !slices.Contains(sh.Replicas, v) && v != g.Leader })
	if sh.Leader != "" && slices.Contains(g.Voters, sh.Leader) && c.alive[sh.Leader] {
		g.Leader = sh.Leader
	}
}

func (c *cluster) settle(t require.TestingT) {
	for round := 0; round < 2000; round++ {
		if c.step(t) == 0 && c.step(t) == 0 {
			return
		}
	}
	require.Fail(t, "placement did not settle")
}

func (c *cluster) perServer() (replicas, leaders map[string]int) {
	replicas, leaders = map[string]int{}, map[string]int{}
	for _, sh := range c.st.Shards {
		for _, r := range sh.Replicas {
			replicas[r]++
		}
		leaders[c.groups[sh.ID].Leader]++
	}
	return replicas, leaders
}

func spread(m map[string]int, ids []string) int {
	lo, hi := 1<<30, 0
	for _, id := range ids {
		lo, hi = min(lo, m[id]), max(hi, m[id])
	}
	return hi - lo
}

func TestPlanUpReplicatesAsServersJoin(t *testing.T) {
	c := newCluster(1, 8, 3)
	c.settle(t)
	for _, sh := range c.st.Shards {
		require.Equal(t, []string{"s0"}, sh.Replicas, "one server: nowhere to replicate")
	}

	c.addServer("s1", 1)
	c.addServer("s2", 2)
	c.settle(t)
	for _, sh := range c.st.Shards {
		require.ElementsMatch(t, []string{"s0", "s1", "s2"}, sh.Replicas)
	}
	_, leaders := c.perServer()
	require.LessOrEqual(t, spread(leaders, []string{"s0", "s1", "s2"}), 1, "leaders spread: %v", leaders)
}

func TestPlanMovesReplicasOntoNewServers(t *testing.T) {
	c := newCluster(3, 12, 3)
	c.settle(t)
	c.addServer("s3", 3)
	c.addServer("s4", 4)
	c.settle(t)

	ids := []string{"s0", "s1", "s2", "s3", "s4"}
	replicas, leaders := c.perServer()
	require.LessOrEqual(t, spread(replicas, ids), 1, "replicas even: %v", replicas)
	require.LessOrEqual(t, spread(leaders, ids), 1, "leaders even: %v", leaders)
	for _, sh := range c.st.Shards {
		require.Len(t, sh.Replicas, 3)
	}
}

func TestPlanGivesNothingNewToASuspectServer(t *testing.T) {
	c := newCluster(3, 6, 3)
	c.settle(t)
	c.addServer("s3", 3)
	ops := shard.Plan(shard.PlanInput{State: c.st, Up: map[string]bool{"s0": true, "s1": true, "s3": true}, Gone: map[string]bool{}, Shards: c.view()})
	for _, op := range ops {
		require.NotEqual(t, "s2", op.Leader, "a suspect server is not preferred as leader")
		require.Len(t, op.Replicas, 3, "no move while a server is suspect: %v", ops)
		require.NotContains(t, op.Replicas, "s3", "no move onto the new server while another is suspect")
	}
}

func TestPlanReplacesADeadServer(t *testing.T) {
	c := newCluster(4, 8, 3)
	c.settle(t)
	c.alive["s1"] = false
	c.settle(t)
	for _, sh := range c.st.Shards {
		require.Len(t, sh.Replicas, 3)
		require.NotContains(t, sh.Replicas, "s1")
	}
}

func TestPlanDrainsALeavingServer(t *testing.T) {
	c := newCluster(4, 8, 3)
	c.settle(t)
	c.st.Servers["s2"].State = fsm.ServerLeaving
	c.settle(t)
	replicas, leaders := c.perServer()
	require.Zero(t, replicas["s2"])
	require.Zero(t, leaders["s2"])
}

func TestPlanKeepsInvariantsUnderRandomChanges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "servers")
		c := newCluster(n, rapid.IntRange(1, 16).Draw(t, "shards"), rapid.IntRange(1, 3).Draw(t, "replicas"))
		for range rapid.IntRange(0, 6).Draw(t, "events") {
			switch rapid.IntRange(0, 2).Draw(t, "event") {
			case 0:
				c.addServer(fmt.Sprintf("s%d", n), int64(n))
				n++
			case 1:
				c.alive[fmt.Sprintf("s%d", rapid.IntRange(0, n-1).Draw(t, "down"))] = false
			case 2:
				c.alive[fmt.Sprintf("s%d", rapid.IntRange(0, n-1).Draw(t, "up"))] = true
			}
			for range rapid.IntRange(0, 20).Draw(t, "rounds") {
				c.step(t)
			}
		}
		// Every shard keeps a live voter, so it can settle.
		live := 0
		for id := range c.alive {
			if c.alive[id] {
				live++
			}
		}
		if live == 0 {
			return
		}
		for _, sh := range c.st.Shards {
			ok := false
			for _, v := range c.groups[sh.ID].Voters {
				ok = ok || c.alive[v]
			}
			if !ok {
				return // the shard lost every replica: out of placement's hands
			}
		}
		c.settle(t)
		target := min(c.st.Replicas, live)
		for _, sh := range c.st.Shards {
			require.Len(t, sh.Replicas, target, "shard %d", sh.ID)
			for _, r := range sh.Replicas {
				require.True(t, c.alive[r], "shard %d on down server %s", sh.ID, r)
			}
		}
	})
}

func TestMetaVotersKeepsTheFirstJoined(t *testing.T) {
	st := &fsm.MetaState{Servers: map[string]*fsm.ServerInfo{}}
	alive := map[string]bool{}
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		st.Servers[id] = &fsm.ServerInfo{ID: id, State: fsm.ServerAlive, JoinedMS: int64(i)}
		alive[id] = true
	}
	none := map[string]bool{}
	require.Equal(t, []string{"a", "b", "c"}, shard.MetaVoters(st, alive, none, []string{"a"}, 3))
	require.Equal(t, []string{"a", "b", "c"}, shard.MetaVoters(st, map[string]bool{"a": true}, none, []string{"a", "b", "c"}, 3), "a quiet voter stays until it is gone")
	require.Equal(t, []string{"a", "c", "d"}, shard.MetaVoters(st, alive, map[string]bool{"b": true}, []string{"a", "b", "c"}, 3))
	require.Equal(t, []string{"c", "d", "e"}, shard.MetaVoters(st, alive, none, []string{"c", "d", "e"}, 3), "current voters stay")
}

// leaderLoad builds a settled 3-server cluster of 8 shards led 3/3/2, each
// shard firing at the rate rates gives it.
func leaderLoad(rates func(shard int) float64) shard.PlanInput {
	ids := []string{"s0", "s1", "s2"}
	st := &fsm.MetaState{Replicas: 3, Servers: map[string]*fsm.ServerInfo{}}
	up := map[string]bool{}
	for i, id := range ids {
		st.Servers[id] = &fsm.ServerInfo{ID: id, State: fsm.ServerAlive, JoinedMS: int64(i)}
		up[id] = true
	}
	views := map[int]shard.ShardView{}
	for i := range 8 {
		lead := ids[i%3]
		st.Shards = append(st.Shards, fsm.ShardInfo{ID: i, Replicas: ids, Leader: lead})
		views[i] = shard.ShardView{Leader: lead, Voters: ids, FiresPerSecond: rates(i)}
	}
	return shard.PlanInput{State: st, Up: up, Gone: map[string]bool{}, Shards: views}
}

// Shards of equal weight on an uneven count of servers, with the noise
// of measured rates, are as balanced as they can be: moving a leader
// would only swap which server carries the extra shard, and every move
// costs a hand-over. Found by the benchmark: leaders moved every few
// seconds under a steady load, each move re-sending unacknowledged fires.
func TestPlanLeavesLeadersOfEvenLoadWhereTheyAre(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := rapid.Float64Range(0, 5000).Draw(t, "base")
		noise := rapid.SliceOfN(rapid.Float64Range(-0.04, 0.04), 8, 8).Draw(t, "noise")
		in := leaderLoad(func(i int) float64 { return base * (1 + noise[i]) })
		require.Empty(t, shard.Plan(in), "base %.0f fires/s per shard", base)
	})
}

// A server carrying clearly more than its share gives a leadership to the
// least loaded one.
func TestPlanMovesALeaderOffAnOverloadedServer(t *testing.T) {
	in := leaderLoad(func(i int) float64 {
		if i%3 == 0 {
			return 600 // s0 leads shards 0, 3, 6
		}
		return 100
	})
	ops := shard.Plan(in)
	require.Len(t, ops, 1)
	require.Equal(t, "s0", in.Shards[ops[0].ID].Leader, "the move is off s0")
	require.Equal(t, "s2", ops[0].Leader, "to s2, which leads only two shards")
}

// While a shard's new leader has not measured its rate, leaderships are
// spread by count only: loads that read uneven move nothing when the
// counts are even, and counts that are uneven still spread.
func TestPlanCountsLeadershipsWhileAShardIsWarming(t *testing.T) {
	in := leaderLoad(func(i int) float64 {
		if i%3 == 0 {
			return 600
		}
		return 100
	})
	v := in.Shards[1]
	v.Warming = true
	in.Shards[1] = v
	require.Empty(t, shard.Plan(in), "3/3/2 is as even as counts go")

	for id, v := range in.Shards {
		v.Leader = "s0"
		in.Shards[id] = v
		in.State.Shards[id].Leader = "s0"
	}
	ops := shard.Plan(in)
	require.Len(t, ops, 1, "all eight on s0: one moves")
	require.NotEqual(t, "s0", ops[0].Leader)
}
