package chaos

import (
	"fmt"
	"sort"
	"time"

	"github.com/swarmsched/swarm/api"
)

// Slot check tolerances.
const (
	// DefaultEarlyTolerance: a run may start this much before its
	// scheduled instant (the harness and the workers share one clock, so
	// only the sink's own timestamp resolution is excused).
	DefaultEarlyTolerance = 5 * time.Millisecond

	// lostKillBefore and lostKillAfter bound when a client kill must have
	// happened, around a slot's scheduled instant, to excuse the slot
	// ending lost on that client without running.
	lostKillBefore = 2 * time.Second
	lostKillAfter  = 10 * time.Second
)

// SlotInput is what the slot check reads.
type SlotInput struct {
	Jobs      []FiringJob
	Margin    time.Duration // slots start this long after a job's creation
	WindowEnd time.Time     // slots up to here (the end of the fault phase)
	Fires     []Fire
	Execs     []api.Execution // every execution record seen while polling
	Faults    []Fault
}

// SlotResult is the outcome of the "every slot once" check.
type SlotResult struct {
	Jobs       int            `json:"jobs"`
	Slots      int            `json:"slots"`
	RanOnce    int            `json:"ran_once"`
	Excused    map[string]int `json:"excused"`
	ExcusedLog []string       `json:"excused_detail,omitempty"`
	Violations []Violation    `json:"violations,omitempty"`
}

type slotKey struct {
	job string
	at  int64 // unix ms
}

// CheckSlots checks every scheduled slot of every firing job in the
// window: it ran at least once and at most once, never early, except for
// slots the server recorded skipped and runs cut short by a client the
// nemesis killed.
func CheckSlots(in SlotInput) SlotResult {
	res := SlotResult{Excused: map[string]int{}}
	fires := map[slotKey][]Fire{}
	for _, f := range in.Fires {
		k := slotKey{f.Job, f.ScheduledAt.UnixMilli()}
		fires[k] = append(fires[k], f)
	}
	execs := map[slotKey]api.Execution{}
	for _, e := range in.Execs {
		execs[slotKey{e.Job, e.ScheduledAt.UnixMilli()}] = e
	}
	kills := clientKills(in.Faults)

	for _, job := range in.Jobs {
		res.Jobs++
		for _, at := range jobSlots(job, in.Margin, in.WindowEnd) {
			res.Slots++
			k := slotKey{job.Key, at.UnixMilli()}
			res.checkSlot(k, at, fires[k], execs, kills)
		}
	}
	return res
}

// jobSlots lists the scheduled instants of job in its checked window.
func jobSlots(job FiringJob, margin time.Duration, end time.Time) []time.Time {
	if job.Period <= 0 {
		return nil
	}
	first := job.Created.Add(margin).Truncate(job.Period)
	if first.Before(job.Created.Add(margin)) {
		first = first.Add(job.Period)
	}
	var out []time.Time
	for t := first; !t.After(end); t = t.Add(job.Period) {
		out = append(out, t)
	}
	return out
}

func (r *SlotResult) violate(k slotKey, format string, args ...any) {
	r.Violations = append(r.Violations, Violation{Check: "slots", Subject: slotName(k), Message: fmt.Sprintf(format, args...)})
}

func (r *SlotResult) excuse(k slotKey, reason, detail string) {
	r.Excused[reason]++
	r.ExcusedLog = append(r.ExcusedLog, fmt.Sprintf("%s: %s: %s", slotName(k), reason, detail))
}

func slotName(k slotKey) string {
	return k.job + "@" + time.UnixMilli(k.at).UTC().Format(time.RFC3339Nano)
}

func (r *SlotResult) checkSlot(k slotKey, at time.Time, runs []Fire, execs map[slotKey]api.Execution, kills map[string][]Fault) {
	for _, f := range runs {
		if f.RanAt.Before(at.Add(-DefaultEarlyTolerance)) {
			r.violate(k, "exec %s attempt %d ran %s before its scheduled instant (leader %s term %d)",
				f.ExecID, f.Attempt, at.Sub(f.RanAt), f.Leader, f.Term)
		}
	}
	if len(runs) == 0 {
		r.checkMissing(k, at, execs, kills)
		return
	}
	ids := map[string]bool{}
	for _, f := range runs {
		ids[f.ExecID] = true
	}
	if len(ids) > 1 {
		r.violate(k, "ran under %d execution ids: %s", len(ids), describeRuns(runs))
		return
	}
	if len(runs) == 1 {
		r.RanOnce++
		return
	}
	r.checkRepeats(k, runs, kills)
}

// checkMissing judges a slot with no run: excused only when the server
// recorded it skipped, or lost on a client the nemesis killed.
func (r *SlotResult) checkMissing(k slotKey, at time.Time, execs map[slotKey]api.Execution, kills map[string][]Fault) {
	e, ok := execs[k]
	switch {
	case !ok:
		r.violate(k, "never ran, and no execution record of it was seen")
	case e.State == api.ExecSkipped:
		r.excuse(k, "skipped_"+e.Reason, "exec "+e.ID)
	case e.State == api.ExecLost && killedWithin(kills[e.Client], at.Add(-lostKillBefore), at.Add(lostKillAfter)):
		r.excuse(k, "lost_on_killed_client", fmt.Sprintf("exec %s on %s", e.ID, e.Client))
	default:
		r.violate(k, "never ran; exec %s is %s (attempt %d, client %q, reason %q)", e.ID, e.State, e.Attempt, e.Client, e.Reason)
	}
}

// checkRepeats judges a slot that ran more than once under one id: a run
// of the same attempt twice is never excused; a later attempt is excused
// only when the client of the attempt before it was killed between the
// two runs.
func (r *SlotResult) checkRepeats(k slotKey, runs []Fire, kills map[string][]Fault) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].RanAt.Before(runs[j].RanAt) })
	seen := map[int]bool{}
	for _, f := range runs {
		if seen[f.Attempt] {
			r.violate(k, "attempt %d ran twice: %s", f.Attempt, describeRuns(runs))
			return
		}
		seen[f.Attempt] = true
	}
	for i := 1; i < len(runs); i++ {
		prev, cur := runs[i-1], runs[i]
		if !killedWithin(kills[prev.Client], prev.RanAt, cur.RanAt) {
			r.violate(k, "ran again as attempt %d with no crash of %s (which ran attempt %d) in between: %s",
				cur.Attempt, prev.Client, prev.Attempt, describeRuns(runs))
			return
		}
	}
	r.excuse(k, "retry_after_client_kill", describeRuns(runs))
}

func clientKills(faults []Fault) map[string][]Fault {
	out := map[string][]Fault{}
	for _, f := range faults {
		if f.Kind == FaultClientKill {
			out[f.Target] = append(out[f.Target], f)
		}
	}
	return out
}

func killedWithin(kills []Fault, from, to time.Time) bool {
	for _, f := range kills {
		if !f.Start.Before(from) && !f.Start.After(to) {
			return true
		}
	}
	return false
}

func describeRuns(runs []Fire) string {
	s := ""
	for i, f := range runs {
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("exec %s attempt %d on %s at %s (leader %s term %d)",
			f.ExecID, f.Attempt, f.Client, f.RanAt.UTC().Format("15:04:05.000"), f.Leader, f.Term)
	}
	return s
}

// PendingSlots counts the slots of the window that have neither run nor
// reached a terminal execution state yet: the harness waits for them to
// land before it checks.
func PendingSlots(in SlotInput) int {
	ran := map[slotKey]bool{}
	for _, f := range in.Fires {
		ran[slotKey{f.Job, f.ScheduledAt.UnixMilli()}] = true
	}
	ended := map[slotKey]bool{}
	for _, e := range in.Execs {
		if api.Terminal(e.State) {
			ended[slotKey{e.Job, e.ScheduledAt.UnixMilli()}] = true
		}
	}
	n := 0
	for _, job := range in.Jobs {
		for _, at := range jobSlots(job, in.Margin, in.WindowEnd) {
			k := slotKey{job.Key, at.UnixMilli()}
			if !ran[k] && !ended[k] {
				n++
			}
		}
	}
	return n
}
