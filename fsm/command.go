package fsm

import (
	"encoding/json"
	"fmt"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// DefaultKeep is how many executions of a job the history keeps by default.
const DefaultKeep = 100

// commandFormat is the newest version byte that starts an encoded
// command. A replica refuses entries of a newer format rather than
// misreading them.
//
// Format 2 marks `updates` entries: since it, an assign applies only over
// the target it names (ExecUpdate.Replaces) and a dispatch only to the
// current target. A server built before would apply such an entry
// differently and its replica would silently diverge; it stops at format
// 2 instead ("upgrade this server"). Every server of a cluster must run a
// build that knows format 2 before the first such entry is written.
const commandFormat = 2

// formatOf is the format byte c is written with: the oldest that means
// the same to every build that can read it.
func formatOf(c *Command) byte {
	if c.Type == CmdUpdates {
		return 2
	}
	return 1
}

// CmdType names a shard command.
type CmdType string

// Shard commands.
const (
	CmdPutJob    CmdType = "put_job"
	CmdDeleteJob CmdType = "delete_job"
	CmdPauseJob  CmdType = "pause_job"
	CmdResumeJob CmdType = "resume_job"
	CmdFireBatch CmdType = "fire_batch"
	CmdTrigger   CmdType = "trigger"
	CmdUpdates   CmdType = "updates"
	CmdRetain    CmdType = "retain"
	CmdPutJobs   CmdType = "put_jobs"
	CmdGroup     CmdType = "group_state"
)

// Command is one entry of a shard's Raft log. NowMS is the proposing
// leader's clock (unix ms); Apply uses it instead of reading a clock.
type Command struct {
	Type  CmdType `json:"type"`
	NowMS int64   `json:"now_ms"`

	// Keep bounds the execution history kept per job (0: DefaultKeep).
	Keep int `json:"keep,omitempty"`

	PutJob    *PutJob      `json:"put_job,omitempty"`
	DeleteJob *JobRef      `json:"delete_job,omitempty"`
	PauseJob  *JobRef      `json:"pause_job,omitempty"`
	ResumeJob *ResumeJob   `json:"resume_job,omitempty"`
	FireBatch *FireBatch   `json:"fire_batch,omitempty"`
	Trigger   *TriggerNow  `json:"trigger,omitempty"`
	Updates   *ExecUpdates `json:"updates,omitempty"`
	Retain    *Retain      `json:"retain,omitempty"`
	PutJobs   []PutJob     `json:"put_jobs,omitempty"`
	Group     *GroupState  `json:"group,omitempty"`
}

// GroupState pauses or resumes every job of a job group in the shard.
type GroupState struct {
	Group  string `json:"group"`
	Paused bool   `json:"paused"`
}

// PutJob creates or replaces a job.
type PutJob struct {
	// Job is normalized by the leader; for a create its ID is set.
	Job api.Job `json:"job"`

	// Mode is "create" (fail if it exists), "replace" (fail if missing) or
	// "upsert".
	Mode string `json:"mode"`

	// PrevVersion is the version the leader read (0 when absent); the put
	// fails with a conflict if the job changed since.
	PrevVersion uint64 `json:"prev_version"`

	// Trigger is the trigger state to store: a new Initial state when the
	// trigger changed, else the current one.
	Trigger scheduler.State `json:"trigger"`

	// TriggerChanged cancels fires committed for the old trigger.
	TriggerChanged bool `json:"trigger_changed,omitempty"`

	// Paused creates the job paused (its job group is paused).
	Paused bool `json:"paused,omitempty"`
}

// Put modes.
const (
	PutCreate  = "create"
	PutReplace = "replace"
	PutUpsert  = "upsert"
)

// JobRef names a job.
type JobRef struct {
	Key string `json:"key"`
}

// ResumeJob resumes a paused job with the state the leader computed,
// missed fires already run through the misfire policy.
type ResumeJob struct {
	Key     string          `json:"key"`
	Version uint64          `json:"version"`
	Trigger scheduler.State `json:"trigger"`
}

// FireBatch commits the fires due in the leader's next window, ahead of
// their instants. Each item applies only if its job still has Version and
// DueMS, so a write committed between the leader's scan and this batch is
// never undone.
type FireBatch struct {
	Term  uint64     `json:"term"`
	Items []FireItem `json:"items"`
}

// FireItem fires one job once or more (a short interval can fit several
// fires in one window) and moves its trigger to Next.
type FireItem struct {
	Key     string          `json:"key"`
	Version uint64          `json:"version"`
	DueMS   int64           `json:"due_ms"`
	Next    scheduler.State `json:"next"`
	Execs   []NewExec       `json:"execs"`
}

// NewExec is an execution a fire creates.
type NewExec struct {
	ID          string     `json:"id"`
	ScheduledMS int64      `json:"scheduled_ms"`
	Piece       *api.Piece `json:"piece,omitempty"`
	Target      string     `json:"target,omitempty"`
	Server      string     `json:"server,omitempty"`

	// Skipped records a fire that will not run (State skipped, Reason).
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// TriggerNow fires a job once, now, outside its schedule.
type TriggerNow struct {
	Key    string    `json:"key"`
	Term   uint64    `json:"term"`
	Pieces []NewExec `json:"pieces"` // IDs are assigned by Apply
}

// Update kinds.
const (
	UpdDispatched = "dispatched" // the leader released the fire to its target
	UpdRunning    = "running"    // the client accepted and started it
	UpdResult     = "result"     // the run ended
	UpdAssign     = "assign"     // a target was chosen (or changed)
	UpdSkip       = "skip"       // the fire will not run
)

// ExecUpdates is a batch of execution state changes: dispatches, acks,
// results, assignments. Results are never committed one entry each.
type ExecUpdates struct {
	Term    uint64       `json:"term"`
	Updates []ExecUpdate `json:"updates"`
}

// ExecUpdate changes one execution.
type ExecUpdate struct {
	ID      string `json:"id"`
	Attempt int    `json:"attempt"`
	Kind    string `json:"kind"`
	AtMS    int64  `json:"at_ms"`

	Client string `json:"client,omitempty"`
	Server string `json:"server,omitempty"`

	// NewAttempt starts a new attempt with an assignment (a retry, or the
	// target was lost).
	NewAttempt bool `json:"new_attempt,omitempty"`

	// Replaces, on an assign, is the target the leader read when it chose
	// (or, on a refusal, the worker that refused): the assign applies only
	// while that is still the target, so two choices made from one reading
	// cannot both be committed. Nil (updates from older leaders) applies
	// unconditionally.
	Replaces *string `json:"replaces,omitempty"`

	State      string `json:"state,omitempty"`
	Reason     string `json:"reason,omitempty"`
	ExitCode   *int   `json:"exit_code,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Output     string `json:"output,omitempty"`
	Error      string `json:"error,omitempty"`
	StartedMS  int64  `json:"started_ms,omitempty"`
}

// Retain drops execution history older than BeforeMS.
type Retain struct {
	BeforeMS int64 `json:"before_ms"`
}

// Encode serializes c for the Raft log.
func Encode(c *Command) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Type, err)
	}
	return append([]byte{formatOf(c)}, b...), nil
}

// Decode parses an entry Encode wrote.
func Decode(data []byte) (*Command, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("decode command: empty entry")
	}
	if data[0] > commandFormat {
		return nil, fmt.Errorf("decode command format %d: %w", data[0], ErrNewerFormat)
	}
	var c Command
	if err := json.Unmarshal(data[1:], &c); err != nil {
		return nil, fmt.Errorf("decode command: %w", err)
	}
	return &c, nil
}

// Result is what Apply returns for a command, read by the proposer from the
// ApplyFuture.
type Result struct {
	Err *api.Error `json:"err,omitempty"`

	// Job is the job after a put, pause or resume.
	Job *JobRecord `json:"job,omitempty"`

	// Applied says, per FireBatch item or per update, whether it applied.
	Applied []bool `json:"applied,omitempty"`

	// ExecIDs are the executions a trigger created.
	ExecIDs []string `json:"exec_ids,omitempty"`

	// Cancelled lists executions the command cancelled (the leader drops
	// them from its release queue).
	Cancelled []string `json:"cancelled,omitempty"`

	// Items are the per-job results of a put_jobs batch.
	Items []*Result `json:"items,omitempty"`

	// Count is the number of jobs a group_state command changed.
	Count int `json:"count,omitempty"`
}
