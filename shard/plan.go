package shard

import (
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/scheduler"
)

// plan turns due-index entries into FireBatch items: for each job, the
// fires whose instants fall before now+lookahead, the trigger state after
// them, and the targets chosen for each piece. It reads the store but
// changes nothing; the batch applies only if the jobs are unchanged.
func (f *Firer) plan(now time.Time, due []fsm.Due) []fsm.FireItem {
	horizon := now.Add(f.cfg.Lookahead)
	items := make([]fsm.FireItem, 0, len(due))
	for _, d := range due {
		rec, err := f.store.Job(d.Key)
		if err != nil || rec == nil || rec.DueMS != d.MS {
			continue // changed since the scan; the next scan sees it
		}
		item, ok := f.planJob(rec, now, horizon)
		if ok {
			items = append(items, item)
		}
	}
	return items
}

func (f *Firer) planJob(rec *fsm.JobRecord, now, horizon time.Time) (fsm.FireItem, bool) {
	trig, err := scheduler.Compile(rec.Job.Trigger)
	if err != nil {
		f.logScanError(err)
		return fsm.FireItem{}, false
	}
	cal := f.calendar(rec.Job.Trigger.Calendar)
	jobID, err := fsm.ParseJobID(rec.Job.ID)
	if err != nil {
		f.logScanError(err)
		return fsm.FireItem{}, false
	}

	item := fsm.FireItem{Key: rec.Job.Key(), Version: rec.Job.Version, DueMS: rec.DueMS}
	st := rec.Trigger
	if cal != nil && !st.Done() && !cal.Included(st.Next) {
		// The calendar changed since this time was computed and now
		// excludes it: skip to the next included time, as Quartz does when
		// a calendar is replaced with its triggers updated.
		next := trig.Fired(st, cal)
		next.Times, next.Prev = st.Times, st.Prev
		st = next
		if st.Done() || st.Next.After(horizon) {
			item.Next = st
			return item, true
		}
	}
	if missed := st.Next; now.Sub(missed) > f.cfg.MisfireThreshold && !trig.IgnoresMisfires() {
		st = trig.Misfired(st, now, cal)
		if st.Done() || !st.Next.Equal(missed) {
			item.Execs = append(item.Execs, f.skippedExec(jobID, missed, api.ReasonMisfire))
		}
	}

	active := rec.Active
	for !st.Done() && !st.Next.After(horizon) && len(item.Execs) < maxFiresPerItem {
		execs := f.fireExecs(rec, jobID, st.Next, active, uint64(st.Times))
		item.Execs = append(item.Execs, execs...)
		if !execs[0].Skipped {
			active++
		}
		st = trig.Fired(st, cal)
		if rec.Job.Concurrency == api.ConcurrencyForbid {
			break // judge the next slot when this run's outcome is known
		}
	}
	item.Next = st
	return item, true
}

// fireExecs builds the executions of one fire at slot: one per piece, or
// one skipped record when the concurrency policy forbids it.
func (f *Firer) fireExecs(rec *fsm.JobRecord, jobID uint64, slot time.Time, active int, seq uint64) []fsm.NewExec {
	if rec.Job.Concurrency == api.ConcurrencyForbid && active > 0 {
		return []fsm.NewExec{f.skippedExec(jobID, slot, api.ReasonConcurrency)}
	}

	pieces := max(rec.Job.ShardingCount, 1)
	targets := f.cfg.Dispatcher.Pick(&rec.Job, pieces, nil, seq)
	if rec.Job.Routing == api.RoutingBroadcast {
		if len(targets) == 0 {
			// No client now: one piece waits for one.
			targets = []Target{{}}
		}
		pieces = len(targets)
	}

	execs := make([]fsm.NewExec, pieces)
	for i := range execs {
		e := fsm.NewExec{
			ID:          fsm.ExecID{Shard: f.cfg.Shard, JobID: jobID, ScheduledMS: slot.UnixMilli(), Piece: i}.String(),
			ScheduledMS: slot.UnixMilli(),
		}
		if pieces > 1 || rec.Job.ShardingCount > 0 {
			e.Piece = &api.Piece{Index: i, Count: pieces, Parameter: pieceParameter(&rec.Job, i)}
		}
		if i < len(targets) {
			e.Target, e.Server = targets[i].Client, targets[i].Server
		}
		execs[i] = e
	}
	return execs
}

func pieceParameter(j *api.Job, i int) string {
	if i < len(j.ShardingParameters) {
		return j.ShardingParameters[i]
	}
	return ""
}

func (f *Firer) skippedExec(jobID uint64, slot time.Time, reason string) fsm.NewExec {
	return fsm.NewExec{
		ID:          fsm.ExecID{Shard: f.cfg.Shard, JobID: jobID, ScheduledMS: slot.UnixMilli()}.String(),
		ScheduledMS: slot.UnixMilli(),
		Skipped:     true,
		Reason:      reason,
	}
}

func (f *Firer) calendar(name string) scheduler.Calendar {
	if name == "" || f.cfg.Calendars == nil {
		return nil
	}
	cal, err := f.cfg.Calendars(name)
	if err != nil {
		f.logScanError(err)
		return nil
	}
	return cal
}
