package fsm_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/scheduler"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	s     *fsm.Shard
	path  string
	index uint64
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fsm.db")
	s, err := fsm.OpenShard(3, path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return &harness{t: t, s: s, path: path}
}

// apply commits one command as the next log entry and returns its result.
func (h *harness) apply(c *fsm.Command) *fsm.Result {
	h.t.Helper()
	data, err := fsm.Encode(c)
	require.NoError(h.t, err)
	h.index++
	out := h.s.ApplyBatch([]*raft.Log{{Index: h.index, Term: 1, Type: raft.LogCommand, Data: data}})
	res, ok := out[0].(*fsm.Result)
	require.True(h.t, ok)
	return res
}

func testJob(group, name string) api.Job {
	return api.Job{
		Group:    group,
		Name:     name,
		ID:       "00000000000000aa",
		Trigger:  scheduler.Spec{Kind: scheduler.KindSimple, Interval: scheduler.Interval{Duration: time.Second}},
		Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"},
	}
}

func (h *harness) create(group, name string, next time.Time) *fsm.JobRecord {
	h.t.Helper()
	res := h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{
		Job: testJob(group, name), Mode: fsm.PutCreate, Trigger: scheduler.State{Next: next, Start: t0},
	}})
	require.Nil(h.t, res.Err)
	return res.Job
}

func (h *harness) fire(rec *fsm.JobRecord, slot, next time.Time, target string) *fsm.Result {
	h.t.Helper()
	id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: slot.UnixMilli()}.String()
	return h.apply(&fsm.Command{Type: fsm.CmdFireBatch, NowMS: slot.Add(-time.Second).UnixMilli(), FireBatch: &fsm.FireBatch{
		Term: 1,
		Items: []fsm.FireItem{{
			Key: rec.Job.Key(), Version: rec.Job.Version, DueMS: rec.DueMS,
			Next:  scheduler.State{Next: next, Prev: slot, Times: rec.Trigger.Times + 1},
			Execs: []fsm.NewExec{{ID: id, ScheduledMS: slot.UnixMilli(), Target: target}},
		}},
	}})
}

func TestShardPutGetDelete(t *testing.T) {
	h := newHarness(t)
	rec := h.create("billing", "invoices", t0.Add(time.Minute))
	require.Equal(t, uint64(1), rec.Job.Version)
	require.Equal(t, api.JobNormal, rec.Job.State)

	res := h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{Job: testJob("billing", "invoices"), Mode: fsm.PutCreate}})
	require.NotNil(t, res.Err)
	require.Equal(t, api.CodeAlreadyExists, res.Err.Code)

	got, err := h.s.Job("billing/invoices")
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute).UnixMilli(), got.DueMS)
	require.Equal(t, int64(1), h.s.JobCount())

	res = h.apply(&fsm.Command{Type: fsm.CmdDeleteJob, NowMS: t0.UnixMilli(), DeleteJob: &fsm.JobRef{Key: "billing/invoices"}})
	require.Nil(t, res.Err)
	got, err = h.s.Job("billing/invoices")
	require.NoError(t, err)
	require.Nil(t, got)
	require.Equal(t, int64(0), h.s.JobCount())
	due, err := h.s.DueUntil(t0.Add(time.Hour).UnixMilli(), 10)
	require.NoError(t, err)
	require.Empty(t, due)
}

func TestShardPutConflictOnStaleVersion(t *testing.T) {
	h := newHarness(t)
	h.create("g", "a", t0.Add(time.Minute))
	res := h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{
		Job: testJob("g", "a"), Mode: fsm.PutReplace, PrevVersion: 7,
	}})
	require.NotNil(t, res.Err)
	require.Equal(t, api.CodeConflict, res.Err.Code)
}

func TestDueIndexOrdersByTimeThenKey(t *testing.T) {
	h := newHarness(t)
	h.create("g", "late", t0.Add(3*time.Second))
	h.create("g", "b", t0.Add(time.Second))
	h.create("g", "a", t0.Add(time.Second))
	h.create("g", "before-1970", time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC))

	due, err := h.s.DueUntil(t0.Add(2*time.Second).UnixMilli(), 10)
	require.NoError(t, err)
	var keys []string
	for _, d := range due {
		keys = append(keys, d.Key)
	}
	require.Equal(t, []string{"g/before-1970", "g/a", "g/b"}, keys)

	due, err = h.s.DueUntil(t0.Add(time.Hour).UnixMilli(), 2)
	require.NoError(t, err)
	require.Len(t, due, 2)
}

func TestFireBatchAppliesOnlyToTheVersionItSaw(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))

	// A concurrent update commits between the leader's scan and its batch.
	res := h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{
		Job: testJob("g", "a"), Mode: fsm.PutReplace, PrevVersion: 1,
		Trigger: scheduler.State{Next: t0.Add(5 * time.Second)}, TriggerChanged: true,
	}})
	require.Nil(t, res.Err)

	res = h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	require.Equal(t, []bool{false}, res.Applied)

	got, err := h.s.Job("g/a")
	require.NoError(t, err)
	require.Equal(t, t0.Add(5*time.Second).UnixMilli(), got.DueMS, "the update must not be undone")
	inflight, err := h.s.Inflight()
	require.NoError(t, err)
	require.Empty(t, inflight)
}

func TestFireBatchCommitsAheadAndMovesTheDueKey(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))

	res := h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	require.Equal(t, []bool{true}, res.Applied)

	got, err := h.s.Job("g/a")
	require.NoError(t, err)
	require.Equal(t, t0.Add(2*time.Second).UnixMilli(), got.DueMS)
	require.Equal(t, 1, got.Active)

	// Re-proposing the same batch (a retried proposal) changes nothing.
	res = h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	require.Equal(t, []bool{false}, res.Applied)

	inflight, err := h.s.Inflight()
	require.NoError(t, err)
	require.Len(t, inflight, 1)
	require.Equal(t, api.ExecScheduled, inflight[0].State)
	require.Equal(t, "w1", inflight[0].Target)
}

func TestPauseCancelsCommittedFutureFires(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))
	h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")

	// The pause commits before the fire's instant.
	res := h.apply(&fsm.Command{Type: fsm.CmdPauseJob, NowMS: t0.UnixMilli(), PauseJob: &fsm.JobRef{Key: "g/a"}})
	require.Nil(t, res.Err)
	require.Len(t, res.Cancelled, 1)
	require.Equal(t, api.JobPaused, res.Job.Job.State)

	e, err := h.s.Exec(res.Cancelled[0])
	require.NoError(t, err)
	require.Equal(t, api.ExecSkipped, e.State)
	require.Equal(t, api.ReasonPaused, e.Reason)

	due, err := h.s.DueUntil(t0.Add(time.Hour).UnixMilli(), 10)
	require.NoError(t, err)
	require.Empty(t, due, "a paused job has no due key")

	res = h.apply(&fsm.Command{Type: fsm.CmdResumeJob, NowMS: t0.UnixMilli(), ResumeJob: &fsm.ResumeJob{
		Key: "g/a", Version: res.Job.Job.Version, Trigger: scheduler.State{Next: t0.Add(10 * time.Second)},
	}})
	require.Nil(t, res.Err)
	require.Equal(t, api.JobNormal, res.Job.Job.State)
	require.Equal(t, t0.Add(10*time.Second).UnixMilli(), res.Job.DueMS)
}

func TestUpdatesFollowAnExecutionToItsResult(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))
	h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: t0.Add(time.Second).UnixMilli()}.String()
	code := 0

	res := h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: t0.UnixMilli(), Updates: &fsm.ExecUpdates{Term: 1, Updates: []fsm.ExecUpdate{
		{ID: id, Attempt: 1, Kind: fsm.UpdDispatched, AtMS: t0.Add(time.Second).UnixMilli()},
		{ID: id, Attempt: 1, Kind: fsm.UpdRunning, AtMS: t0.Add(time.Second + 5*time.Millisecond).UnixMilli(), Client: "w1"},
		{ID: id, Attempt: 1, Kind: fsm.UpdResult, AtMS: t0.Add(2 * time.Second).UnixMilli(), State: api.ExecSucceeded, ExitCode: &code, Output: "hello\n"},
		{ID: id, Attempt: 1, Kind: fsm.UpdRunning, AtMS: t0.Add(3 * time.Second).UnixMilli()}, // late duplicate
	}}})
	require.Equal(t, []bool{true, true, true, false}, res.Applied)

	e, err := h.s.Exec(id)
	require.NoError(t, err)
	require.Equal(t, api.ExecSucceeded, e.State)
	require.Equal(t, "w1", e.Client)
	require.Equal(t, "hello\n", e.Output)
	require.Equal(t, t0.Add(time.Second), *e.FiredAt)
	inflight, err := h.s.Inflight()
	require.NoError(t, err)
	require.Empty(t, inflight)

	list, next, err := h.s.Execs("g/a", rec.Job.ID, "", 10)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)
}

// A worker's refusal can be committed before the leader's report that it
// handed the fire over (the refusal overtook the hand-over's answer): the
// late dispatch to the worker that refused must not apply, or the
// execution stays dispatched to no one and is never sent again (the chaos
// suite found it; docs/reliability.md, finding 13).
func TestDispatchAfterTheRefusalIsStale(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))
	h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: t0.Add(time.Second).UnixMilli()}.String()
	at := t0.Add(time.Second).UnixMilli()

	res := h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: t0.UnixMilli(), Updates: &fsm.ExecUpdates{Term: 1, Updates: []fsm.ExecUpdate{
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at},                       // w1 refused: choose again
		{ID: id, Attempt: 1, Kind: fsm.UpdDispatched, AtMS: at, Client: "w1"},     // the hand-over to w1, reported late
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at, Client: "w2"},         // chosen again
		{ID: id, Attempt: 1, Kind: fsm.UpdDispatched, AtMS: at + 5, Client: "w2"}, // and handed over
	}}})
	require.Equal(t, []bool{true, false, true, true}, res.Applied)

	e, err := h.s.Exec(id)
	require.NoError(t, err)
	require.Equal(t, api.ExecDispatched, e.State)
	require.Equal(t, "w2", e.Target)
}

func TestFailedAttemptIsRetriedWithBackoff(t *testing.T) {
	h := newHarness(t)
	j := testJob("g", "r")
	j.Retries = api.Retries{Max: 1, Backoff: api.Duration(10 * time.Second), MaxBackoff: api.Duration(time.Minute)}
	res := h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{Job: j, Mode: fsm.PutCreate, Trigger: scheduler.State{Next: t0.Add(time.Second)}}})
	rec := res.Job
	h.fire(rec, t0.Add(time.Second), t0.Add(time.Hour), "w1")
	id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: t0.Add(time.Second).UnixMilli()}.String()

	fail := func(attempt int) {
		h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: t0.Add(2 * time.Second).UnixMilli(), Updates: &fsm.ExecUpdates{Updates: []fsm.ExecUpdate{
			{ID: id, Attempt: attempt, Kind: fsm.UpdResult, AtMS: t0.Add(2 * time.Second).UnixMilli(), State: api.ExecFailed},
		}}})
	}
	fail(1)
	e, err := h.s.Exec(id)
	require.NoError(t, err)
	require.Equal(t, api.ExecScheduled, e.State)
	require.Equal(t, 2, e.Attempt)
	require.Equal(t, t0.Add(12*time.Second).UnixMilli(), e.NotBeforeMS)
	require.Empty(t, e.Target)

	fail(2)
	e, err = h.s.Exec(id)
	require.NoError(t, err)
	require.Equal(t, api.ExecFailed, e.State, "retries exhausted")
}

func TestHistoryIsBoundedPerJob(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))
	keep := 5
	for i := 1; i <= 12; i++ {
		slot := t0.Add(time.Duration(i) * time.Second)
		id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: slot.UnixMilli()}.String()
		res := h.apply(&fsm.Command{Type: fsm.CmdFireBatch, NowMS: slot.UnixMilli(), Keep: keep, FireBatch: &fsm.FireBatch{Items: []fsm.FireItem{{
			Key: rec.Job.Key(), Version: rec.Job.Version, DueMS: slot.UnixMilli(),
			Next:  scheduler.State{Next: slot.Add(time.Second)},
			Execs: []fsm.NewExec{{ID: id, ScheduledMS: slot.UnixMilli()}},
		}}}})
		require.Equal(t, []bool{true}, res.Applied)
		h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: slot.UnixMilli(), Keep: keep, Updates: &fsm.ExecUpdates{Updates: []fsm.ExecUpdate{
			{ID: id, Attempt: 1, Kind: fsm.UpdResult, AtMS: slot.UnixMilli(), State: api.ExecSucceeded},
		}}})
		rec, _ = h.s.Job("g/a")
	}
	list, _, err := h.s.Execs("g/a", rec.Job.ID, "", 100)
	require.NoError(t, err)
	require.Len(t, list, keep)
	require.Equal(t, t0.Add(12*time.Second), list[0].ScheduledAt, "newest first")
	require.Equal(t, t0.Add(8*time.Second), list[keep-1].ScheduledAt)

	// Paging walks the same list.
	page1, cursor, err := h.s.Execs("g/a", rec.Job.ID, "", 3)
	require.NoError(t, err)
	require.Len(t, page1, 3)
	require.NotEmpty(t, cursor)
	page2, cursor, err := h.s.Execs("g/a", rec.Job.ID, cursor, 3)
	require.NoError(t, err)
	require.Len(t, page2, 2)
	require.Empty(t, cursor)
	require.Equal(t, list[3].ID, page2[0].ID)
}

func TestRetentionDropsOldHours(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(-3*time.Hour))
	slot := t0.Add(-3 * time.Hour)
	id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: slot.UnixMilli()}.String()
	h.apply(&fsm.Command{Type: fsm.CmdFireBatch, NowMS: slot.UnixMilli(), FireBatch: &fsm.FireBatch{Items: []fsm.FireItem{{
		Key: rec.Job.Key(), Version: rec.Job.Version, DueMS: rec.DueMS, Next: scheduler.State{Next: t0},
		Execs: []fsm.NewExec{{ID: id, ScheduledMS: slot.UnixMilli()}},
	}}}})
	h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: slot.UnixMilli(), Updates: &fsm.ExecUpdates{Updates: []fsm.ExecUpdate{
		{ID: id, Attempt: 1, Kind: fsm.UpdResult, AtMS: slot.UnixMilli(), State: api.ExecSucceeded},
	}}})

	h.apply(&fsm.Command{Type: fsm.CmdRetain, NowMS: t0.UnixMilli(), Retain: &fsm.Retain{BeforeMS: t0.Add(-time.Hour).UnixMilli()}})
	e, err := h.s.Exec(id)
	require.NoError(t, err)
	require.Nil(t, e)
	got, _ := h.s.Job("g/a")
	require.Equal(t, 0, got.Execs)
	list, _, err := h.s.Execs("g/a", "", "", 10)
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestApplySkipsEntriesAtOrBelowTheStoredIndex(t *testing.T) {
	h := newHarness(t)
	h.create("g", "a", t0.Add(time.Minute))
	require.NoError(t, h.s.Close())

	// Restart: raft replays entry 1 (no snapshot restore on start); the
	// store already holds it and must not apply it twice.
	s, err := fsm.OpenShard(3, h.path)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, uint64(1), s.AppliedIndex())

	data, err := fsm.Encode(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{Job: testJob("g", "a"), Mode: fsm.PutCreate}})
	require.NoError(t, err)
	out := s.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: data}})
	require.Nil(t, out[0], "a replayed entry is skipped, not applied as a duplicate create")

	info, err := os.Stat(h.path)
	require.NoError(t, err)
	require.NotZero(t, info.Size())
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (m *memSink) ID() string    { return "test" }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }
func (m *memSink) Close() error  { return nil }

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.create("g", "a", t0.Add(time.Minute))
	h.create("g", "b", t0.Add(2*time.Minute))

	snap, err := h.s.Snapshot()
	require.NoError(t, err)
	sink := &memSink{}
	require.NoError(t, snap.Persist(sink))
	snap.Release()

	// Writes after the snapshot are replaced by the restore.
	h.create("g", "c", t0.Add(3*time.Minute))

	other := newHarness(t)
	require.NoError(t, other.s.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))))
	require.Equal(t, uint64(2), other.s.AppliedIndex())
	jobs, err := other.s.Jobs("", "", 10)
	require.NoError(t, err)
	require.Len(t, jobs, 2)

	require.NoError(t, h.s.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))))
	got, err := h.s.Job("g/c")
	require.NoError(t, err)
	require.Nil(t, got)
	require.Equal(t, int64(2), h.s.JobCount())
}

func TestRestoreRefusesGarbage(t *testing.T) {
	h := newHarness(t)
	h.create("g", "a", t0.Add(time.Minute))
	err := h.s.Restore(io.NopCloser(bytes.NewReader([]byte("not a bolt file at all"))))
	require.ErrorIs(t, err, fsm.ErrCorrupt)
	got, err := h.s.Job("g/a")
	require.NoError(t, err)
	require.NotNil(t, got, "a failed restore leaves the store as it was")
}

func TestOpenRefusesACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fsm.db")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{0xde, 0xad}, 8192), 0o600))
	_, err := fsm.OpenShard(0, path)
	require.ErrorIs(t, err, fsm.ErrCorrupt)
}

func TestExecIDRoundTrip(t *testing.T) {
	for _, id := range []fsm.ExecID{
		{Shard: 0, JobID: 1, ScheduledMS: 1764763200000, Piece: 0},
		{Shard: 12, JobID: ^uint64(0), ScheduledMS: -5, Piece: 3, Manual: 42},
	} {
		got, err := fsm.ParseExecID(id.String())
		require.NoError(t, err)
		require.Equal(t, id, got)
	}
	for _, bad := range []string{"", "1.2.3", "x.00.1.0", "1.zz.1.0", "1.00.1.0.7", "1.00.1.0.m0", "1-00-1-0"} {
		_, err := fsm.ParseExecID(bad)
		require.Error(t, err, bad)
	}
}

func TestDigestMatchesAcrossReplicasOfTheSameLog(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	for _, h := range []*harness{a, b} {
		rec := h.create("g", "a", t0.Add(time.Second))
		h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	}
	ia, da, err := a.s.Digest()
	require.NoError(t, err)
	ib, db, err := b.s.Digest()
	require.NoError(t, err)
	require.Equal(t, ia, ib)
	require.Equal(t, da, db)

	b.create("g", "b", t0.Add(time.Minute))
	_, db, err = b.s.Digest()
	require.NoError(t, err)
	require.NotEqual(t, da, db, "different state, different digest")
}

func TestAssignFromAnOlderReadingIsStale(t *testing.T) {
	h := newHarness(t)
	rec := h.create("g", "a", t0.Add(time.Second))
	h.fire(rec, t0.Add(time.Second), t0.Add(2*time.Second), "w1")
	id := fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: t0.Add(time.Second).UnixMilli()}.String()
	at := t0.Add(time.Second).UnixMilli()
	ptr := func(s string) *string { return &s }

	res := h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: t0.UnixMilli(), Updates: &fsm.ExecUpdates{Term: 1, Updates: []fsm.ExecUpdate{
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at, Replaces: ptr("w1")},                               // w1 refused
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at, Client: "w2", Replaces: ptr("")},                   // chosen again
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at, Client: "w3", Replaces: ptr("")},                   // and again, from the same reading
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at, Replaces: ptr("w1")},                               // w1's refusal, once more
		{ID: id, Attempt: 1, Kind: fsm.UpdDispatched, AtMS: at + 5, Client: "w2"},                              // handed over to w2
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at + 6, Client: "w4", Replaces: ptr("")},               // a late choice
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at + 7, Replaces: ptr("w2")},                           // w2 refused
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at + 8, Client: "w3", Server: "s2", Replaces: ptr("")}, // chosen after it
	}}})
	require.Equal(t, []bool{true, true, false, false, true, false, true, true}, res.Applied)

	e, err := h.s.Exec(id)
	require.NoError(t, err)
	require.Equal(t, api.ExecScheduled, e.State)
	require.Equal(t, "w3", e.Target)

	// An update from a leader that did not say what it replaced applies
	// as it always did.
	res = h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: t0.UnixMilli(), Updates: &fsm.ExecUpdates{Term: 1, Updates: []fsm.ExecUpdate{
		{ID: id, Attempt: 1, Kind: fsm.UpdAssign, AtMS: at + 9, Client: "w5"},
	}}})
	require.Equal(t, []bool{true}, res.Applied)
}
