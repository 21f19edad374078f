package client

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// recoverJournal takes over what an earlier client on the same DataDir
// left: its unconfirmed results are sent again, and each run it journalled
// is taken back if its process still runs, reported with its real outcome
// if it ended meanwhile, or reported lost if it vanished without one.
// Called before the client connects, so the first hello lists the runs it
// took back.
func (r *runner) recoverJournal() error {
	recs, results, err := r.journal.load()
	if err != nil {
		return err
	}

	done, err := r.journal.doneRuns()
	if err != nil {
		return err
	}
	refused, err := r.journal.refusals()
	if err != nil {
		return err
	}
	r.mu.Lock()
	for k, reason := range refused {
		r.refused.add(k, reason)
	}
	for _, res := range results {
		k := runKey{res.ExecID, res.Attempt}
		r.results[k] = res
		// Also among the recent runs, as finish does: once the server
		// confirms the result, a copy of the fire re-sent before it heard
		// must still find the run here, not run it a second time.
		r.recent.add(k, recentRun{startedAt: res.StartedAt})
	}
	for k, at := range done {
		r.recent.add(k, recentRun{startedAt: at})
	}
	r.mu.Unlock()

	for _, rec := range recs {
		r.recoverRun(rec)
	}
	r.removeStrayDirs()
	if len(recs)+len(results) > 0 {
		r.log.Info("journal recovered", "runs", len(recs), "unconfirmed_results", len(results))
	}
	return nil
}

func (r *runner) recoverRun(rec runRecord) {
	k := rec.key()
	if rec.Kind == kindHandler {
		res := lostResult(rec, "client restarted during the run", "")
		r.finish(res, 0)
		return
	}

	pid, start := rec.PID, rec.ProcStart
	if pid == 0 {
		// The client died between starting the shim and journalling its
		// pid; the shim wrote its own.
		pid, start, _ = readPIDFile(rec.RunDir)
	}
	st, ended, err := readExitStatus(rec.RunDir)
	if !ended && err == nil && processAlive(pid, start) {
		r.adopt(rec, pid, start)
		return
	}

	sp := newShimProc(rec.RunDir, pid, start, nil, r.newOutput())
	sp.catchUp()
	sp.abandon()
	reapIfChild(pid)
	var res protocol.Result
	switch {
	case err != nil:
		res = lostResult(rec, fmt.Sprintf("process state unknown after client restart: %v", err), sp.out.tailString())
	case !ended:
		res = lostResult(rec, "process vanished while the client was down", sp.out.tailString())
	default:
		res = newResult(k, rec.StartedAt, sp.out.tailString(), outcomeOf(st), nil)
		res.FinishedAt = st.FinishedAt
	}
	r.log.Info("run ended while client was down", "exec_id", k.execID, "attempt", k.attempt, "state", res.State)
	r.finish(res, pid)
}

// adopt supervises a process started by an earlier client. Its output so
// far goes into the tail only; new lines are streamed again.
func (r *runner) adopt(rec runRecord, pid int, start uint64) {
	sp := newShimProc(rec.RunDir, pid, start, nil, r.newOutput())
	sp.catchUp()
	ru := &run{
		key:       rec.key(),
		fire:      rec.Fire,
		startedAt: rec.StartedAt,
		pid:       pid,
		out:       sp.out,
		proc:      sp,
		kills:     make(chan error, 1),
	}

	r.mu.Lock()
	r.runs[ru.key] = ru
	r.changedLocked()
	r.mu.Unlock()

	r.log.Info("run taken back", "exec_id", ru.key.execID, "attempt", ru.key.attempt, "pid", pid)
	r.wg.Add(1)
	go r.supervise(ru)
}

func lostResult(rec runRecord, why, tail string) protocol.Result {
	return protocol.Result{
		ExecID:     rec.Fire.ExecID,
		Attempt:    rec.Fire.Attempt,
		State:      api.ExecLost,
		Error:      why,
		Output:     tail,
		StartedAt:  rec.StartedAt,
		FinishedAt: nowUTC(),
	}
}

// removeStrayDirs deletes run directories nothing refers to: left by a
// crash between creating a directory and journalling its run, or by a
// crash after a confirmation but before the directory went.
func (r *runner) removeStrayDirs() {
	r.mu.Lock()
	keep := map[string]bool{}
	for k := range r.runs {
		keep[runDirName(k)] = true
	}
	for k := range r.results {
		keep[runDirName(k)] = true
	}
	r.mu.Unlock()

	entries, err := os.ReadDir(r.runsDir)
	if err != nil {
		r.log.Warn("list run dirs failed", "error", err)
		return
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(r.runsDir, e.Name())); err != nil {
			r.log.Warn("remove stray run dir failed", "dir", e.Name(), "error", err)
		}
	}
}
