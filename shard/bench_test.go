package shard_test

import (
	"fmt"
	"testing"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/shard"
)

func benchCandidates(n int) []shard.Candidate {
	out := make([]shard.Candidate, n)
	for i := range out {
		out[i] = shard.Candidate{ID: fmt.Sprintf("w%05d", i), Server: fmt.Sprintf("s%d", i%3+1),
			Capacity: 8, Running: i % 8}
	}
	return out
}

// BenchmarkPickTargets chooses the target of one fire among n connected
// clients, per routing mode: the work a shard leader does per fire when
// it plans a batch.
func BenchmarkPickTargets(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		cands := benchCandidates(n)
		for _, routing := range []string{api.RoutingAny, api.RoutingLeastBusy, api.RoutingConsistentHash} {
			job := &api.Job{Group: "bench", Name: "j0000001", Routing: routing}
			b.Run(fmt.Sprintf("clients=%d/%s", n, routing), func(b *testing.B) {
				b.ReportAllocs()
				seq := uint64(0)
				for b.Loop() {
					seq++
					if t := shard.PickTargets(job, cands, 1, nil, seq); len(t) != 1 || t[0].Client == "" {
						b.Fatal("no target")
					}
				}
			})
		}
		job := &api.Job{Group: "bench", Name: "j0000001", Routing: api.RoutingAny, ShardingCount: 16}
		b.Run(fmt.Sprintf("clients=%d/16_pieces", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if t := shard.PickTargets(job, cands, 16, nil, 7); len(t) != 16 {
					b.Fatal("wrong piece count")
				}
			}
		})
	}
}

// benchPlacement is a cluster of servers where every shard has its full
// replica set, spread round robin, and one more server just joined (so
// Plan has a move to find), or none (a settled cluster).
func benchPlacement(servers, shards, replicas int, joined bool) shard.PlanInput {
	st := &fsm.MetaState{Replicas: replicas, Servers: map[string]*fsm.ServerInfo{}}
	alive := map[string]bool{}
	views := map[int]shard.ShardView{}
	total := servers
	if joined {
		total++
	}
	for i := range total {
		id := fmt.Sprintf("s%02d", i)
		st.Servers[id] = &fsm.ServerInfo{ID: id, State: fsm.ServerAlive, JoinedMS: int64(i)}
		alive[id] = true
	}
	for sh := range shards {
		var reps []string
		for r := range replicas {
			reps = append(reps, fmt.Sprintf("s%02d", (sh+r)%servers))
		}
		st.Shards = append(st.Shards, fsm.ShardInfo{ID: sh, Replicas: reps, Leader: reps[0]})
		views[sh] = shard.ShardView{Leader: reps[0], Voters: reps, FiresPerSecond: float64(sh % 7)}
	}
	return shard.PlanInput{State: st, Up: alive, Shards: views}
}

// BenchmarkPlan runs one placement pass, as the meta leader does every
// few seconds, on a settled cluster and on one where a server just joined.
func BenchmarkPlan(b *testing.B) {
	for _, size := range []struct{ servers, shards int }{{3, 8}, {9, 64}, {30, 512}} {
		for _, joined := range []bool{false, true} {
			in := benchPlacement(size.servers, size.shards, 3, joined)
			b.Run(fmt.Sprintf("servers=%d/shards=%d/joined=%v", size.servers, size.shards, joined), func(b *testing.B) {
				b.ReportAllocs()
				ops := 0
				for b.Loop() {
					ops = len(shard.Plan(in))
				}
				b.ReportMetric(float64(ops), "changes/op")
			})
		}
	}
}
