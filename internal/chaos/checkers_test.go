package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
)

// ms is a history instant: n milliseconds after the run began.
func ms(n int64) int64 { return n * int64(time.Millisecond) }

func op(worker int, kind OpKind, value string, out Outcome, call, ret int64) Op {
	return Op{Worker: worker, Key: "k", Kind: kind, Value: value, Outcome: out, Call: ms(call), Return: ms(ret)}
}

func TestLinearizableAcceptsCorrectHistory(t *testing.T) {
	ops := []Op{
		op(0, OpCreate, "a", OutOK, 0, 10),
		op(1, OpGet, "a", OutOK, 11, 20),
		op(0, OpUpdate, "b", OutOK, 21, 30),
		op(1, OpGet, "a", OutOK, 25, 28), // concurrent with the update: may see the old value
		op(1, OpCreate, "c", OutExists, 31, 40),
		op(0, OpDelete, "", OutOK, 41, 50),
		op(1, OpGet, "", OutNotFound, 51, 60),
		op(0, OpUpdate, "d", OutNotFound, 61, 70),
	}
	res := CheckLinearizable(ops, 10*time.Second)
	require.Equal(t, "Ok", res.Verdict)
	require.Empty(t, res.Violations)
	require.Equal(t, 8, res.Ops)
}

func TestLinearizableRejectsStaleRead(t *testing.T) {
	ops := []Op{
		op(0, OpCreate, "a", OutOK, 0, 10),
		op(0, OpUpdate, "b", OutOK, 11, 20),
		op(1, OpGet, "a", OutOK, 21, 30), // after the update returned: stale
	}
	res := CheckLinearizable(ops, 10*time.Second)
	require.Equal(t, "Illegal", res.Verdict)
	require.Len(t, res.Violations, 1)
	require.Equal(t, "k", res.Violations[0].Subject)
}

func TestLinearizableRejectsLostCreate(t *testing.T) {
	ops := []Op{
		op(0, OpCreate, "a", OutOK, 0, 10),
		op(1, OpGet, "", OutNotFound, 20, 30),
	}
	require.Equal(t, "Illegal", CheckLinearizable(ops, 10*time.Second).Verdict)
}

func TestLinearizableTreatsUnknownWriteAsMaybeApplied(t *testing.T) {
	// An unanswered update may apply late or never: both reads are legal.
	ops := []Op{
		op(0, OpCreate, "a", OutOK, 0, 10),
		op(0, OpUpdate, "b", OutUnknown, 11, 0),
		op(1, OpGet, "a", OutOK, 30, 40),
		op(1, OpGet, "b", OutOK, 50, 60),
	}
	res := CheckLinearizable(ops, 10*time.Second)
	require.Equal(t, "Ok", res.Verdict)
	require.Equal(t, 1, res.Unknown)

	// But once it was seen applied, the old value cannot come back.
	ops = append(ops, op(1, OpGet, "a", OutOK, 70, 80))
	require.Equal(t, "Illegal", CheckLinearizable(ops, 10*time.Second).Verdict)
}

func TestFinalStateKeepsAcknowledgedWrites(t *testing.T) {
	ops := []Op{
		op(0, OpCreate, "a", OutOK, 0, 10),
		op(0, OpUpdate, "b", OutOK, 11, 20),
		op(1, OpUpdate, "c", OutUnknown, 15, 0),
	}
	for _, fine := range []FinalRead{{Exists: true, Value: "b"}, {Exists: true, Value: "c"}} {
		require.Empty(t, CheckFinalState(ops, map[string]FinalRead{"k": fine}).Violations, "final %+v", fine)
	}
	for _, lost := range []FinalRead{{}, {Exists: true, Value: "a"}} {
		res := CheckFinalState(ops, map[string]FinalRead{"k": lost})
		require.Len(t, res.Violations, 1, "final %+v", lost)
		require.Equal(t, "final_state", res.Violations[0].Check)
	}
	require.Len(t, CheckFinalState(ops, nil).Violations, 1, "a key without a final read is a violation")
}

var t0 = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// slotFixture is one job created at t0 whose slots t0+2s..t0+6s are
// checked (margin 2s, window end t0+6s), each run 20ms late by c1.
func slotFixture() SlotInput {
	in := SlotInput{
		Jobs:      []FiringJob{{Key: "chaos-fire/f-00", Created: t0, Period: time.Second}},
		Margin:    2 * time.Second,
		WindowEnd: t0.Add(6 * time.Second),
	}
	for s := 2; s <= 6; s++ {
		in.Fires = append(in.Fires, fire(s, 1, "c1", "s1", 3))
	}
	return in
}

func fire(sec, attempt int, client, leader string, term uint64) Fire {
	at := t0.Add(time.Duration(sec) * time.Second)
	return Fire{Job: "chaos-fire/f-00", ScheduledAt: at, ExecID: fmt.Sprintf("x%d", sec), Attempt: attempt, Shard: 2, Term: term,
		Leader: leader, Client: client, RanAt: at.Add(20*time.Millisecond + time.Duration(attempt-1)*time.Second)}
}

func TestSlotsAcceptEverySlotOnce(t *testing.T) {
	res := CheckSlots(slotFixture())
	require.Empty(t, res.Violations)
	require.Equal(t, 5, res.Slots)
	require.Equal(t, 5, res.RanOnce)
}

func TestSlotsRejectLostSlot(t *testing.T) {
	in := slotFixture()
	in.Fires = append(in.Fires[:1], in.Fires[2:]...) // t0+3s never ran
	res := CheckSlots(in)
	require.Len(t, res.Violations, 1)
	require.Contains(t, res.Violations[0].Subject, "04:03Z")
	require.Contains(t, res.Violations[0].Message, "never ran")

	// A record the server kept says why; "scheduled" forever is no excuse.
	in.Execs = []api.Execution{{ID: "x3", Job: "chaos-fire/f-00", ScheduledAt: t0.Add(3 * time.Second), State: api.ExecScheduled, Attempt: 1}}
	res = CheckSlots(in)
	require.Len(t, res.Violations, 1)
	require.Contains(t, res.Violations[0].Message, "is scheduled")
}

func TestSlotsExcuseSkippedAndLostOnKilledClient(t *testing.T) {
	in := slotFixture()
	in.Fires = append(in.Fires[:1], in.Fires[3:]...) // t0+3s and t0+4s never ran
	in.Execs = []api.Execution{
		{ID: "x3", Job: "chaos-fire/f-00", ScheduledAt: t0.Add(3 * time.Second), State: api.ExecSkipped, Reason: api.ReasonMisfire},
		{ID: "x4", Job: "chaos-fire/f-00", ScheduledAt: t0.Add(4 * time.Second), State: api.ExecLost, Client: "c2"},
	}
	in.Faults = []Fault{{Kind: FaultClientKill, Target: "c2", Start: t0.Add(4 * time.Second), End: t0.Add(6 * time.Second)}}
	res := CheckSlots(in)
	require.Empty(t, res.Violations)
	require.Equal(t, map[string]int{"skipped_misfire": 1, "lost_on_killed_client": 1}, res.Excused)

	// Lost on a client nobody killed is a violation.
	in.Faults[0].Target = "c1"
	require.Len(t, CheckSlots(in).Violations, 1)
}

func TestSlotsRejectDuplicates(t *testing.T) {
	t.Run("same attempt twice", func(t *testing.T) {
		in := slotFixture()
		in.Fires = append(in.Fires, fire(4, 1, "c2", "s1", 3))
		res := CheckSlots(in)
		require.Len(t, res.Violations, 1)
		require.Contains(t, res.Violations[0].Message, "attempt 1 ran twice")
	})
	t.Run("two execution ids", func(t *testing.T) {
		in := slotFixture()
		f := fire(4, 1, "c2", "s2", 4)
		f.ExecID = "other"
		in.Fires = append(in.Fires, f)
		require.Contains(t, CheckSlots(in).Violations[0].Message, "2 execution ids")
	})
	t.Run("retry without a crash", func(t *testing.T) {
		in := slotFixture()
		in.Fires = append(in.Fires, fire(4, 2, "c2", "s1", 3))
		res := CheckSlots(in)
		require.Len(t, res.Violations, 1)
		require.Contains(t, res.Violations[0].Message, "no crash of c1")
	})
	t.Run("retry after the client was killed", func(t *testing.T) {
		in := slotFixture()
		in.Fires = append(in.Fires, fire(4, 2, "c2", "s1", 3))
		in.Faults = []Fault{{Kind: FaultClientKill, Target: "c1", Start: t0.Add(4*time.Second + 500*time.Millisecond)}}
		res := CheckSlots(in)
		require.Empty(t, res.Violations)
		require.Equal(t, 1, res.Excused["retry_after_client_kill"])
	})
}

func TestSlotsRejectEarlyRun(t *testing.T) {
	in := slotFixture()
	in.Fires[2].RanAt = in.Fires[2].ScheduledAt.Add(-400 * time.Millisecond)
	res := CheckSlots(in)
	require.Len(t, res.Violations, 1)
	require.Contains(t, res.Violations[0].Message, "before its scheduled instant")
}

func TestLeadersAcceptFiresOfTheTermsLeader(t *testing.T) {
	in := slotFixture()
	ls := []Leadership{{Shard: 2, Term: 3, Server: "s1"}, {Shard: 2, Term: 4, Server: "s2"}}
	res := CheckLeaders(in.Fires, ls)
	require.Empty(t, res.Violations)
	require.Equal(t, 5, res.Fires)
	require.Equal(t, 2, res.Terms)
}

func TestLeadersRejectWrongLeaderFire(t *testing.T) {
	in := slotFixture()
	in.Fires[1].Leader = "s2" // s2 led term 4, not term 3
	ls := []Leadership{{Shard: 2, Term: 3, Server: "s1"}, {Shard: 2, Term: 4, Server: "s2"}}
	res := CheckLeaders(in.Fires, ls)
	require.Len(t, res.Violations, 1)
	require.Contains(t, res.Violations[0].Message, `fired by "s2" as leader of shard 2 in term 3`)
}

func TestLeadersRejectTwoLeadersInOneTerm(t *testing.T) {
	ls := []Leadership{{Shard: 2, Term: 3, Server: "s1"}, {Shard: 2, Term: 3, Server: "s3"}}
	res := CheckLeaders(nil, ls)
	require.Len(t, res.Violations, 1)
	require.Contains(t, res.Violations[0].Message, "[s1 s3]")
}

func sample(server string, applied uint64, digest string) DigestSample {
	return DigestSample{Shard: 0, Server: server, Applied: applied, Digest: digest}
}

func TestDigestsAcceptConvergedReplicas(t *testing.T) {
	rounds := map[int][]DigestRound{0: {
		{sample("s1", 10, "aa"), sample("s2", 9, "99"), sample("s3", 10, "aa")},
		{sample("s1", 12, "cc"), sample("s2", 12, "cc"), sample("s3", 12, "cc")},
	}}
	res := CheckDigests(rounds, 3)
	require.Empty(t, res.Violations)
	require.Equal(t, 1, res.Converged)
}

func TestDigestsRejectDivergentReplica(t *testing.T) {
	rounds := map[int][]DigestRound{0: {
		{sample("s1", 12, "cc"), sample("s2", 12, "cc"), sample("s3", 12, "dd")},
	}}
	res := CheckDigests(rounds, 3)
	require.NotEmpty(t, res.Violations)
	require.Contains(t, res.Violations[0].Message, "both at applied index 12")
}

func TestDigestsRejectNeverConverged(t *testing.T) {
	rounds := map[int][]DigestRound{0: {{sample("s1", 12, "cc"), sample("s2", 11, "bb")}}}
	res := CheckDigests(rounds, 3)
	require.Len(t, res.Violations, 1)
	require.Contains(t, res.Violations[0].Message, "never reached one applied index")
}

func TestLatenessByFaultKind(t *testing.T) {
	in := slotFixture()
	in.Fires[3].RanAt = in.Fires[3].ScheduledAt.Add(900 * time.Millisecond) // t0+5s, under a kill
	faults := []Fault{{Kind: FaultServerKill, Target: "s1", Start: t0.Add(4500 * time.Millisecond), End: t0.Add(5500 * time.Millisecond)}}
	all, byKind := MeasureLateness(in.Fires, faults, t0, t0.Add(time.Minute))
	require.Equal(t, 5, all.Count)
	require.InDelta(t, 900, all.Max, 0.001)
	require.InDelta(t, 20, all.P50, 0.001)
	require.Equal(t, 1, byKind[FaultServerKill].Count)
	require.InDelta(t, 900, byKind[FaultServerKill].P99, 0.001)
	require.Equal(t, 4, byKind[KindNone].Count)
}

func TestPlanIsReproducibleAndKeepsOneServerFaultAtATime(t *testing.T) {
	cfg, err := Config{Binary: "swarm"}.withDefaults()
	require.NoError(t, err)
	a := Plan(42, cfg, cfg.Kinds, 2)
	require.Equal(t, a, Plan(42, cfg, cfg.Kinds, 2))
	require.NotEqual(t, a, Plan(43, cfg, cfg.Kinds, 2))

	var lastEnd time.Duration
	kinds := map[string]bool{}
	for _, s := range a {
		kinds[s.Kind] = true
		if s.Lane != "server" {
			continue
		}
		require.GreaterOrEqual(t, s.At, lastEnd, "server faults overlap")
		lastEnd = s.At + s.For
		if s.Kind == FaultDiskFull {
			require.Equal(t, 2, s.Target)
		}
		if s.Kind == FaultPartitionOne || s.Kind == FaultPartitionTwo {
			require.NotEqual(t, s.Target, s.Peer)
		}
	}
	require.GreaterOrEqual(t, len(kinds), 5, "a short plan mixes the kinds")
}

func TestParseSinkLine(t *testing.T) {
	f, err := parseSinkLine("chaos-fire/f-01\t2026-01-02T03:04:05Z\tex1\t2\t3\t7\ts2\tc1\t1767323045012000000")
	require.NoError(t, err)
	require.Equal(t, Fire{Job: "chaos-fire/f-01", ScheduledAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ExecID: "ex1",
		Attempt: 2, Shard: 3, Term: 7, Leader: "s2", Client: "c1", RanAt: time.Unix(0, 1767323045012000000)}, f)
	_, err = parseSinkLine("chaos-fire/f-01\t2026-01-02T03:04:05Z\tex1")
	require.Error(t, err)
}

func TestConfigValidateNamesTheField(t *testing.T) {
	_, err := Config{}.withDefaults()
	require.ErrorContains(t, err, "binary")
	_, err = Config{Binary: "x", Profile: "medium"}.withDefaults()
	require.ErrorContains(t, err, "profile")
	_, err = Config{Binary: "x", Servers: 2}.withDefaults()
	require.ErrorContains(t, err, "servers")
	_, err = Config{Binary: "x", Kinds: []string{"meteor"}}.withDefaults()
	require.ErrorContains(t, err, "kinds")
}
