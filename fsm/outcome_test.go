package fsm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/scheduler"
)

// TestJobRemembersItsLastOutcome follows a job through a failure (after
// its retry), a skip, an update and a success: the job records the final
// outcome of each run, and each ended execution the outcome before it.
func TestJobRemembersItsLastOutcome(t *testing.T) {
	h := newHarness(t)
	j := testJob("g", "o")
	j.Retries = api.Retries{Max: 1, Backoff: api.Duration(time.Second), MaxBackoff: api.Duration(time.Second)}
	h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: t0.UnixMilli(), PutJob: &fsm.PutJob{Job: j, Mode: fsm.PutCreate, Trigger: scheduler.State{Next: t0.Add(time.Second)}}})

	job := func() *fsm.JobRecord {
		rec, err := h.s.Job("g/o")
		require.NoError(t, err)
		return rec
	}
	exec := func(id string) *fsm.ExecRecord {
		e, err := h.s.Exec(id)
		require.NoError(t, err)
		return e
	}
	update := func(u fsm.ExecUpdate) {
		res := h.apply(&fsm.Command{Type: fsm.CmdUpdates, NowMS: u.AtMS, Updates: &fsm.ExecUpdates{Updates: []fsm.ExecUpdate{u}}})
		require.Equal(t, []bool{true}, res.Applied)
	}
	fire := func(slot time.Time) string {
		h.fire(job(), slot, slot.Add(time.Second), "w1")
		return fsm.ExecID{Shard: 3, JobID: 0xaa, ScheduledMS: slot.UnixMilli()}.String()
	}

	s1 := t0.Add(time.Second)
	id1 := fire(s1)
	update(fsm.ExecUpdate{ID: id1, Attempt: 1, Kind: fsm.UpdResult, AtMS: s1.UnixMilli(), State: api.ExecFailed})
	require.Equal(t, api.ExecScheduled, exec(id1).State, "retried")
	require.Empty(t, job().LastOutcome, "an attempt that is retried is no outcome yet")
	update(fsm.ExecUpdate{ID: id1, Attempt: 2, Kind: fsm.UpdResult, AtMS: s1.Add(time.Second).UnixMilli(), State: api.ExecFailed})
	require.Equal(t, api.ExecFailed, job().LastOutcome)
	require.Empty(t, exec(id1).PrevOutcome)

	s2 := s1.Add(time.Second)
	id2 := fire(s2)
	update(fsm.ExecUpdate{ID: id2, Attempt: 1, Kind: fsm.UpdSkip, AtMS: s2.UnixMilli(), Reason: api.ReasonNoClient})
	require.Equal(t, api.ExecFailed, job().LastOutcome, "a skip says nothing of the job's health")
	require.Empty(t, exec(id2).PrevOutcome)

	rec := job()
	res := h.apply(&fsm.Command{Type: fsm.CmdPutJob, NowMS: s2.UnixMilli(), PutJob: &fsm.PutJob{
		Job: rec.Job, Mode: fsm.PutReplace, PrevVersion: rec.Job.Version, Trigger: rec.Trigger,
	}})
	require.Nil(t, res.Err)
	require.Equal(t, api.ExecFailed, job().LastOutcome, "an update keeps the outcome")

	s3 := s2.Add(time.Second)
	id3 := fire(s3)
	update(fsm.ExecUpdate{ID: id3, Attempt: 1, Kind: fsm.UpdResult, AtMS: s3.UnixMilli(), State: api.ExecSucceeded})
	require.Equal(t, api.ExecSucceeded, job().LastOutcome)
	require.Equal(t, api.ExecFailed, exec(id3).PrevOutcome, "the success that recovers knows what it recovered from")
}
