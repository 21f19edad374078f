package bench

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/scheduler"
)

func TestHistogramQuantilesAreWithinABucket(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 20000)
	for i := range vals {
		vals[i] = int64(rng.ExpFloat64() * 50000) // microseconds, mean 50 ms
		h.Add(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		require.InEpsilon(t, float64(exact), float64(got), 0.03, "q=%v", q)
	}
	require.Equal(t, vals[len(vals)-1], h.Max())
	require.Equal(t, vals[len(vals)-1], h.Quantile(1))
	require.Equal(t, uint64(len(vals)), h.Count())

	var m Histogram
	m.Add(7)
	m.Merge(&h)
	require.Equal(t, h.Count()+1, m.Count())

	var e Histogram
	require.Zero(t, e.Quantile(0.5))
	e.Add(-5) // early receipts count as zero
	require.Zero(t, e.Quantile(0.5))
}

func TestHistogramBucketsAreOrdered(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 131, 255, 256, 1000, 1 << 20, 1<<40 + 3, 1 << 62} {
		b := bucketOf(v)
		require.Greater(t, b, prev, "value %d", v)
		require.Less(t, b, histBuckets)
		mid := bucketValue(b)
		require.InEpsilon(t, float64(max(v, 1)), float64(max(mid, 1)), 0.02, "value %d", v)
		prev = b
	}
}

func fireMessage(t *testing.T, f *protocol.Fire) []byte {
	t.Helper()
	b, err := json.Marshal(&protocol.Message{Type: protocol.TypeFire, Fire: f})
	require.NoError(t, err)
	return b
}

func TestParseFireReadsWhatTheServerWrites(t *testing.T) {
	sched := time.Date(2026, 12, 3, 18, 2, 5, 0, time.UTC)
	f := &protocol.Fire{ExecID: "3.00000000000000aa.1764784925000.0", Attempt: 2, Shard: 3, Term: 9,
		Job: "bench/j0000042", JobID: "00000000000000aa", ScheduledAt: sched, FiredAt: sched.Add(1234 * time.Millisecond),
		Executor: api.Executor{Kind: "process", Command: "true"}, Data: map[string]string{"job": "x"}, Leader: "s2"}
	msg := fireMessage(t, f)
	require.Equal(t, "fire", string(messageType(msg)))

	var fast, slow fireView
	require.NoError(t, parseFire(msg, &fast))
	require.NoError(t, parseFireSlow(msg, &slow))
	for _, v := range []fireView{fast, slow} {
		require.Equal(t, f.ExecID, string(v.execID))
		require.Equal(t, 2, v.attempt)
		require.Equal(t, "bench/j0000042", string(v.job))
		require.Equal(t, sched.UnixMilli(), v.scheduled)
		require.Equal(t, sched.UnixMilli()+1234, v.fired)
		require.Equal(t, "s2", string(v.leader))
	}
	require.Equal(t, 42, jobIndex(fast.job, jobPrefix))
	require.Equal(t, -1, jobIndex([]byte("other/j1"), jobPrefix))
	require.Equal(t, -1, jobIndex([]byte("bench/jx1"), jobPrefix))

	require.Error(t, parseFire([]byte(`{"type":"fire","fire":{}}`), &fast))
}

func TestParseTimeMSMatchesTimeParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		ts := time.UnixMilli(rng.Int64N(8_000_000_000_000) - 1_000_000_000_000).UTC()
		s := ts.Format(time.RFC3339Nano)
		got, err := parseTimeMS([]byte(s))
		require.NoError(t, err, s)
		require.Equal(t, ts.UnixMilli(), got, s)
	}
	got, err := parseTimeMS([]byte("2026-12-03T19:00:00+01:00")) // not UTC: the slow path
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC).UnixMilli(), got)
	_, err = parseTimeMS([]byte("2026-13-03Tgarbage"))
	require.Error(t, err)
}

func TestAnswersAreValidProtocolMessages(t *testing.T) {
	now := time.Date(2026, 12, 3, 18, 2, 5, 250_000_000, time.UTC)
	var ack, res protocol.Message
	require.NoError(t, json.Unmarshal(appendAck(nil, []byte("e-1"), 3, now), &ack))
	require.Equal(t, protocol.Message{Type: protocol.TypeAck, Ack: &protocol.Ack{ExecID: "e-1", Attempt: 3, Accepted: true, StartedAt: now}}, ack)
	require.NoError(t, json.Unmarshal(appendResult(nil, []byte("e-1"), 3, now), &res))
	require.Equal(t, protocol.Message{Type: protocol.TypeResult, Result: &protocol.Result{ExecID: "e-1", Attempt: 3,
		State: api.ExecSucceeded, StartedAt: now, FinishedAt: now}}, res)
	var hb protocol.Message
	require.NoError(t, json.Unmarshal(heartbeatMessage, &hb))
	require.Equal(t, protocol.TypeHeartbeat, hb.Type)
}

func TestScheduleCronFiresWhereTheRecorderExpects(t *testing.T) {
	from := time.Date(2026, 12, 3, 18, 0, 7, 0, time.UTC)
	for _, tc := range []struct {
		period time.Duration
		herd   bool
		cron   string // of job 7
	}{
		{time.Second, false, "0/1 * * * * ?"},
		{10 * time.Second, false, "7/10 * * * * ?"},
		{time.Minute, false, "7 * * * * ?"},
		{time.Minute, true, "0 * * * * ?"},
		{20 * time.Minute, false, "7 0/20 * * * ?"},
		{time.Hour, false, "7 0 * * * ?"},
	} {
		s := Schedule{Period: tc.period, Herd: tc.herd}
		require.Equal(t, tc.cron, s.Cron(7))
		for _, job := range []int{0, 7, 59, 61, 1234} {
			trig, err := scheduler.Compile(scheduler.Spec{Kind: scheduler.KindCron, Cron: s.Cron(job)})
			require.NoError(t, err, s.Cron(job))
			st := trig.Initial(from, nil)
			first := s.firstSlot(job, from.Unix())
			require.Equal(t, first, st.Next.Unix(), "period %s job %d", tc.period, job)
			st = trig.Fired(st, nil)
			require.Equal(t, first+int64(tc.period/time.Second), st.Next.Unix(), "period %s job %d", tc.period, job)
		}
	}
	require.Equal(t, 3, Schedule{Period: 10 * time.Second}.slotsIn(5, 100, 130)) // 105 115 125
	require.Equal(t, 2, Schedule{Period: 10 * time.Second}.slotsIn(5, 100, 125)) // 105 115
	require.Equal(t, 0, Schedule{Period: time.Minute}.slotsIn(5, 6, 65))         // next is 65
	require.Equal(t, int64(65), Schedule{Period: time.Minute}.firstSlot(5, 6))   // 65
	require.Equal(t, 10*time.Second, PeriodForRate(10000, 1000))
	require.Equal(t, 2*time.Minute, PeriodForRate(100000, 1000))
	require.NoError(t, CheckPeriod(30*time.Minute))
	require.Error(t, CheckPeriod(7*time.Second))
	require.Error(t, CheckPeriod(1500*time.Millisecond))
}

func view(job string, execID string, attempt int, sched time.Time) *fireView {
	return &fireView{execID: []byte(execID), attempt: attempt, job: []byte(job), scheduled: sched.UnixMilli(), leader: []byte("s1")}
}

func TestRecorderCountsLostDuplicateAndLateFires(t *testing.T) {
	s := Schedule{Period: 10 * time.Second}
	rec := NewRecorder(s, 3, jobPrefix)
	from := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	require.NoError(t, rec.SetWindow(from.Unix(), from.Unix()+20, 0))
	w := rec.Watch("s1", from)

	at := func(d time.Duration) int64 { return from.Add(d).UnixNano() }
	// Job 0 fires at :00 and :10, job 1 at :01 and :11, job 2 at :02 and :12.
	require.Equal(t, outFirst, rec.Record(view("bench/j0000000", "e0a", 1, from), at(5*time.Millisecond)))
	require.Equal(t, outDuplicate, rec.Record(view("bench/j0000000", "e0a", 1, from), at(time.Second)))
	require.Equal(t, outRetry, rec.Record(view("bench/j0000000", "e0a", 2, from), at(2*time.Second)))
	require.Equal(t, outFirst, rec.Record(view("bench/j0000000", "e0b", 1, from.Add(10*time.Second)), at(10*time.Second+15*time.Millisecond)))
	require.Equal(t, outFirst, rec.Record(view("bench/j0000001", "e1a", 1, from.Add(time.Second)), at(time.Second+25*time.Millisecond)))
	require.Equal(t, outOtherExec, rec.Record(view("bench/j0000001", "e1z", 1, from.Add(time.Second)), at(3*time.Second)))
	require.Equal(t, outOutside, rec.Record(view("bench/j0000001", "e1x", 1, from.Add(2*time.Second)), at(3*time.Second)), "off its schedule")
	require.Equal(t, outOutside, rec.Record(view("bench/j0000002", "e2x", 1, from.Add(-8*time.Second)), at(0)), "before the window")
	require.Equal(t, outOutside, rec.Record(view("bench/j0000002", "e2y", 1, from.Add(22*time.Second)), at(22*time.Second)), "after the window")
	require.Equal(t, outOutside, rec.Record(view("bench/j0000009", "e9", 1, from), at(0)), "not a job of the run")
	require.Equal(t, outOutside, rec.Record(view("other/x", "ex", 1, from), at(0)))

	require.Equal(t, from.Add(5*time.Millisecond), rec.Got(w))
	tally := rec.Tally()
	require.Equal(t, 6, tally.Expected)
	require.Equal(t, 3, tally.Received)
	require.Equal(t, 3, tally.Lost) // job 1 at :11, job 2 at :02 and :12
	require.Equal(t, 2, tally.Duplicates)
	require.Equal(t, 1, tally.DupOther)
	require.Equal(t, 1, tally.Retries)
	require.Equal(t, 1, tally.OffSchedule)
	require.Equal(t, 1, tally.Before)
	require.Equal(t, 1, tally.After)
	require.Equal(t, 2, tally.Unknown)
	require.Equal(t, 11, tally.Total)
	require.Len(t, tally.Seconds, 20)
	require.Equal(t, SecondTally{Expected: 1, Received: 1, Duplicates: 1, P50: 5 * time.Millisecond, P99: 5 * time.Millisecond, Max: 5 * time.Millisecond}, tally.Seconds[0])
	require.Equal(t, 1, tally.Seconds[1].Duplicates)
	require.Equal(t, 1, tally.Seconds[2].Lost)
	require.Equal(t, 25*time.Millisecond, tally.Seconds[1].Max)
	require.Equal(t, 25*time.Millisecond, time.Duration(tally.Lateness.Max())*time.Microsecond)
	require.Equal(t, map[string]int{"s1": 11}, tally.Leaders)
}

func TestRecorderRefusesAWindowTooLargeToTrack(t *testing.T) {
	rec := NewRecorder(Schedule{Period: time.Second}, 1_000_000, jobPrefix)
	require.ErrorContains(t, rec.SetWindow(0, 3600, 0), "shorten --duration")
}

func TestProcReadsThisProcess(t *testing.T) {
	ticks, err := parseStatTicks([]byte("123 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0"))
	require.NoError(t, err)
	require.Equal(t, uint64(300), ticks)
	_, err = parseStatTicks([]byte("123 (x) S 1 2"))
	require.Error(t, err)
	require.Equal(t, int64(1234), statusKiB([]byte("Name:\tx\nVmRSS:\t    1234 kB\nRssAnon:\t  99 kB\n"), "VmRSS:"))
	require.Equal(t, int64(0), statusKiB([]byte("Name:\tx\n"), "RssAnon:"))

	s, err := readProc("self")
	require.NoError(t, err)
	require.Positive(t, s.RSSKiB)
	require.Positive(t, s.RssAnonKiB)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte(strings.Repeat("x", 10000)), 0o600))
	n, err := diskBytes(dir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, int64(10000))
}

func TestReadinessAndTopLeader(t *testing.T) {
	st := &api.Cluster{
		Servers: []api.ClusterServer{{ID: "s1", State: "alive"}, {ID: "s2", State: "alive"}, {ID: "s3", State: "alive"}},
		Shards: []api.ClusterShard{
			{ID: 0, Leader: "s2", Voters: []string{"s1", "s2", "s3"}},
			{ID: 1, Leader: "s2", Voters: []string{"s1", "s2", "s3"}},
			{ID: 2, Leader: "s3", Voters: []string{"s1", "s2", "s3"}},
		},
	}
	require.NoError(t, readyError(st, 3, 3))
	id, n := TopLeader(st)
	require.Equal(t, "s2", id)
	require.Equal(t, 2, n)

	st.Shards[2].Voters = []string{"s3"}
	require.EqualError(t, readyError(st, 3, 3), "shard 2 has 1 of 3 voters")
	st.Shards[1].Leader = ""
	require.EqualError(t, readyError(st, 3, 3), "shard 1 has no leader")
	st.Servers[0].State = "suspect"
	require.EqualError(t, readyError(st, 3, 3), "2 of 3 servers alive")
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c := Config{Binary: "swarm", Jobs: 100000, Rate: 1000}.withDefaults()
	require.NoError(t, c.Validate())
	require.Equal(t, 2*time.Minute, c.Period)
	require.Equal(t, DefaultP99Target, c.P99Target)
	require.Equal(t, DefaultHerdP99, Config{Binary: "swarm", Herd: true}.withDefaults().P99Target)

	for want, bad := range map[string]Config{
		"binary: is required":                                   {},
		"batch: must be between 1 and 1000":                     {Binary: "b", Batch: 1001},
		"period: 7s is not one of":                              {Binary: "b", Period: 7 * time.Second},
		"kill-leader-at: must be inside the window":             {Binary: "b", KillLeaderAt: time.Hour},
		`restart: "some" is not one of one, all`:                {Binary: "b", Restart: "some"},
		"restart: give --restart or --kill-leader-at, not both": {Binary: "b", Restart: RestartOne, KillLeaderAt: time.Second},
	} {
		require.ErrorContains(t, bad.withDefaults().Validate(), want)
	}
}

func TestRecorderExpectsNothingOfJobsThatFailedToLoad(t *testing.T) {
	rec := NewRecorder(Schedule{Period: 10 * time.Second}, 2, jobPrefix)
	from := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	require.NoError(t, rec.SetWindow(from.Unix(), from.Unix()+20, 0))
	rec.Missing(1)
	rec.Record(view("bench/j0000000", "e0", 1, from), from.UnixNano())

	tally := rec.Tally()
	require.Equal(t, 2, tally.Expected, "job 0 at :00 and :10; job 1 never loaded")
	require.Equal(t, 1, tally.Lost)
}

func TestReportRendersAsTableAndChart(t *testing.T) {
	rep := &Report{
		Settings: Settings{Servers: 3, Replicas: 3, Jobs: 10, PeriodSeconds: 60, ExpectedPerSec: 0.2, Workers: 2,
			WindowSeconds: 3, P50TargetMS: 20, P99TargetMS: 100},
		Load:    &LoadReport{Jobs: 10, Created: 10, Seconds: 1, JobsPerSec: 10},
		Window:  WindowReport{Expected: 3, Received: 2, Lost: 1, LatenessMS: Quantiles{P50: 5, P99: 40}},
		Servers: []ServerReport{{ID: "s1", CPUCores: 0.5}},
		Bench:   ServerReport{ID: selfID},
		Kill:    &KillReport{Server: "s1", ShardsLed: 3, AtSeconds: 1},
		Marks:   []Mark{{At: 1, Label: "kill s1"}, {At: 1.2, Label: "start"}},
		Series: []SecondPoint{
			{T: 0, Expected: 1, Received: 1, P50MS: 5, P99MS: 40, MaxMS: 41, Receipts: 1, CPU: []float64{0.5, 0.01}},
			{T: 1, Expected: 1, Received: 0, Lost: 1, Receipts: 0},
			{T: 2, Expected: 1, Received: 1, P50MS: 0, P99MS: 0, MaxMS: 0, Receipts: 1, CPU: []float64{0.4, 0.01}},
		},
		Targets: []TargetCheck{{Name: "zero lost fires", Measured: "1 lost of 3"}},
	}
	var out strings.Builder
	require.NoError(t, rep.WriteTable(&out))
	require.Contains(t, out.String(), "lost 1")
	require.Contains(t, out.String(), "leader kill")
	require.Contains(t, out.String(), "MISS  zero lost fires: 1 lost of 3")

	path := filepath.Join(t.TempDir(), "chart.png")
	require.NoError(t, WriteChart(rep, path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "\x89PNG"), "a PNG file")
}

func TestRecoveryAfterAnEvent(t *testing.T) {
	var series []SecondPoint
	for s := range 60 {
		p99 := 200.0
		if s >= 30 && s < 34 { // the event at 30 makes 4 s late
			p99 = 5000
		}
		series = append(series, SecondPoint{T: s, Expected: 1, Received: 1, P99MS: p99})
	}
	r := &runner{}
	require.Equal(t, 200.0, baselineP99(series, 30))
	got, ok := r.recovery(series, 30, 300)
	require.True(t, ok)
	require.Equal(t, 4.0, got)
	_, ok = r.recovery(series, 30, 100)
	require.False(t, ok, "never under 100 ms")
	series[36].Lost = 1
	got, _ = r.recovery(series, 30, 300)
	require.Equal(t, 7.0, got, "a lost fire is not recovered")
}
