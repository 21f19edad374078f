package fsm

import (
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// JobRecord is a job as the shard stores it.
type JobRecord struct {
	// Job is the normalized job with its ID, Version, State, CreatedAt and
	// UpdatedAt set. The derived fields (NextFireAt, ...) are filled in by
	// View.
	Job api.Job `json:"job"`

	// Trigger is the trigger's state, computed by the leader.
	Trigger scheduler.State `json:"trigger"`

	// DueMS is the job's key in the due index (unix ms), 0 when it has none
	// (paused or complete).
	DueMS int64 `json:"due_ms,omitempty"`

	// ManualSeq numbers manual fires ("trigger now").
	ManualSeq uint64 `json:"manual_seq,omitempty"`

	// Execs counts entries in the job's execution history index.
	Execs int `json:"execs,omitempty"`

	// Active counts executions that are not terminal, for concurrency
	// policies.
	Active int `json:"active,omitempty"`

	// LastOutcome is the final state of the job's last execution that ran
	// to an end: succeeded, failed, timed_out or lost ("" before any).
	// Skipped and killed executions say nothing of the job's health and
	// leave it alone.
	LastOutcome string `json:"last_outcome,omitempty"`
}

// View returns the job as the API shows it.
func (r *JobRecord) View() api.Job {
	j := r.Job
	j.TimesTriggered = r.Trigger.Times
	if !r.Trigger.Next.IsZero() && j.State == api.JobNormal {
		t := r.Trigger.Next.UTC()
		j.NextFireAt = &t
	}
	if !r.Trigger.Prev.IsZero() {
		t := r.Trigger.Prev.UTC()
		j.PrevFireAt = &t
	}
	return j
}

// ExecRecord is an execution as the shard stores it.
type ExecRecord struct {
	api.Execution

	// JobID is the id of the job incarnation that fired it.
	JobID string `json:"job_id"`

	// Target is the client chosen to run this attempt, empty while none is
	// assigned; Server is the server holding that client's socket.
	Target string `json:"target,omitempty"`
	Server string `json:"server,omitempty"`

	// Term is the leader term that assigned the current attempt.
	Term uint64 `json:"term,omitempty"`

	// NotBeforeMS delays the dispatch of a retry (unix ms).
	NotBeforeMS int64 `json:"not_before_ms,omitempty"`

	// PrevOutcome is the job's LastOutcome before this execution ended,
	// recorded when it ended, so the leader can tell a recovery (a success
	// after a failure) from the committed record alone.
	PrevOutcome string `json:"prev_outcome,omitempty"`
}

// IsOutcome reports whether state is one LastOutcome records.
func IsOutcome(state string) bool {
	switch state {
	case api.ExecSucceeded, api.ExecFailed, api.ExecTimedOut, api.ExecLost:
		return true
	}
	return false
}

// Pending reports whether the execution still waits to be dispatched.
func (e *ExecRecord) Pending() bool { return e.State == api.ExecScheduled }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func timePtr(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := msTime(ms)
	return &t
}
