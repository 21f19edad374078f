package fsm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/scheduler"
)

// benchT0 is the instant the benchmark stores' schedules start from.
var benchT0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// benchLargeEnv enables the million-key sizes, which take about a minute
// each to build on a slow disk.
const benchLargeEnv = "SWARM_BENCH_LARGE"

// benchStore is a shard store under b.TempDir() holding n jobs, job i due
// at benchT0 + i*(span/n): spread evenly over span.
type benchStore struct {
	s     *fsm.Shard
	index uint64
	due   []int64 // current due time of each job, unix ms
}

func newBenchStore(b *testing.B, n int, span time.Duration) *benchStore {
	b.Helper()
	s, err := fsm.OpenShard(1, filepath.Join(b.TempDir(), "fsm.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	bs := &benchStore{s: s, due: make([]int64, n)}

	const perEntry = 5000 // jobs per put_jobs entry: few fsyncs to build
	for start := 0; start < n; start += perEntry {
		var puts []fsm.PutJob
		for i := start; i < min(start+perEntry, n); i++ {
			next := benchT0.Add(time.Duration(int64(span) * int64(i) / int64(n)))
			bs.due[i] = next.UnixMilli()
			puts = append(puts, fsm.PutJob{Job: benchJob(i), Mode: fsm.PutCreate, Trigger: scheduler.State{Next: next, Start: benchT0}})
		}
		bs.apply(b, &fsm.Command{Type: fsm.CmdPutJobs, NowMS: benchT0.UnixMilli(), PutJobs: puts})
	}
	return bs
}

func benchJob(i int) api.Job {
	return api.Job{
		Group:    "bench",
		Name:     fmt.Sprintf("j%07d", i),
		ID:       fsm.FormatJobID(uint64(i) + 1),
		Trigger:  scheduler.Spec{Kind: scheduler.KindCron, Cron: fmt.Sprintf("%d * * * * ?", i%60)},
		Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"},
	}
}

// apply commits one command as the next log entry, as Raft would.
func (bs *benchStore) apply(b *testing.B, c *fsm.Command) *fsm.Result {
	b.Helper()
	log := bs.entry(b, c)
	res, ok := bs.s.ApplyBatch([]*raft.Log{log})[0].(*fsm.Result)
	if !ok || res.Err != nil {
		b.Fatalf("apply %s: %v", c.Type, res)
	}
	return res
}

func (bs *benchStore) entry(b *testing.B, c *fsm.Command) *raft.Log {
	data, err := fsm.Encode(c)
	if err != nil {
		b.Fatal(err)
	}
	bs.index++
	return &raft.Log{Index: bs.index, Term: 1, Type: raft.LogCommand, Data: data}
}

func benchSizes(b *testing.B) []int {
	if os.Getenv(benchLargeEnv) != "" {
		return []int{100_000, 1_000_000}
	}
	b.Logf("set %s=1 for the 1,000,000-key size", benchLargeEnv)
	return []int{100_000}
}

// BenchmarkDueUntil scans the due index the way a shard leader's tick
// does: everything due up to now + a window, jobs spread over an hour.
func BenchmarkDueUntil(b *testing.B) {
	for _, n := range benchSizes(b) {
		bs := newBenchStore(b, n, time.Hour)
		for _, window := range []time.Duration{time.Second, time.Minute} {
			b.Run(fmt.Sprintf("keys=%d/window=%s", n, window), func(b *testing.B) {
				until := benchT0.Add(window).UnixMilli()
				found := 0
				b.ReportAllocs()
				for b.Loop() {
					due, err := bs.s.DueUntil(until, shardBatchMax)
					if err != nil {
						b.Fatal(err)
					}
					found = len(due)
				}
				b.ReportMetric(float64(found), "keys/op")
			})
		}
	}
}

// shardBatchMax is the shard leader's limit on one scan (shard.DefaultBatchMax).
const shardBatchMax = 2000

// BenchmarkApplyFireBatch applies FireBatch entries of 1000 items with
// real bbolt and fsync, as a replica does: each item creates one
// execution and moves its job's due key a minute on.
func BenchmarkApplyFireBatch(b *testing.B) {
	const jobs, items = 10_000, 1000
	bs := newBenchStore(b, jobs, time.Minute)
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		log := bs.entry(b, bs.fireBatch(next, items))
		next = (next + items) % jobs
		b.StartTimer()
		res := bs.s.ApplyBatch([]*raft.Log{log})[0].(*fsm.Result)
		if res.Err != nil || !res.Applied[0] || !res.Applied[items-1] {
			b.Fatalf("fire batch not applied: %+v", res.Err)
		}
	}
	b.ReportMetric(float64(items*b.N)/b.Elapsed().Seconds(), "fires/s")
}

// fireBatch fires jobs [from, from+n) at their due times.
func (bs *benchStore) fireBatch(from, n int) *fsm.Command {
	fb := &fsm.FireBatch{Term: 1}
	for i := from; i < from+n; i++ {
		due := bs.due[i]
		slot := time.UnixMilli(due).UTC()
		bs.due[i] = due + time.Minute.Milliseconds()
		fb.Items = append(fb.Items, fsm.FireItem{
			Key: fmt.Sprintf("bench/j%07d", i), Version: 1, DueMS: due,
			Next: scheduler.State{Next: slot.Add(time.Minute), Prev: slot, Start: benchT0},
			Execs: []fsm.NewExec{{
				ID:          fsm.ExecID{Shard: 1, JobID: uint64(i) + 1, ScheduledMS: due}.String(),
				ScheduledMS: due, Target: "w1", Server: "s1",
			}},
		})
	}
	return &fsm.Command{Type: fsm.CmdFireBatch, NowMS: bs.due[from] - time.Second.Milliseconds(), FireBatch: fb}
}

// BenchmarkApplyResults applies the results of 1000 executions in one
// ExecUpdates entry, fsynced: the second write every fire costs.
func BenchmarkApplyResults(b *testing.B) {
	const jobs, items = 10_000, 1000
	bs := newBenchStore(b, jobs, time.Minute)
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		fire := bs.fireBatch(next, items)
		bs.apply(b, fire)
		log := bs.entry(b, resultsOf(fire))
		next = (next + items) % jobs
		b.StartTimer()
		res := bs.s.ApplyBatch([]*raft.Log{log})[0].(*fsm.Result)
		if res.Err != nil || !res.Applied[0] {
			b.Fatalf("results not applied: %+v", res.Err)
		}
	}
	b.ReportMetric(float64(items*b.N)/b.Elapsed().Seconds(), "results/s")
}

func resultsOf(fire *fsm.Command) *fsm.Command {
	u := &fsm.ExecUpdates{Term: 1}
	at := fire.NowMS + 2000
	for _, it := range fire.FireBatch.Items {
		u.Updates = append(u.Updates, fsm.ExecUpdate{
			ID: it.Execs[0].ID, Attempt: 1, Kind: fsm.UpdResult, AtMS: at, Client: "w1", Server: "s1",
			State: api.ExecSucceeded, StartedMS: at - 1,
		})
	}
	return &fsm.Command{Type: fsm.CmdUpdates, NowMS: at, Updates: u}
}
