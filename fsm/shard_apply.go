package fsm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	bolt "go.etcd.io/bbolt"
)

// applier applies commands inside one bbolt write transaction.
type applier struct {
	tx    *bolt.Tx
	shard int

	// per command
	now  int64
	keep int
	term uint64
	res  *Result
}

// applyEntry decodes and applies one entry. A command that cannot be
// decoded means this build cannot follow the log; the replica stops
// rather than diverge.
func (a *applier) applyEntry(data []byte) (*Command, *Result) {
	cmd, err := Decode(data)
	if err != nil {
		panic(fmt.Sprintf("swarm: shard %d: %v (upgrade this server to follow the log)", a.shard, err))
	}
	a.now, a.keep, a.res = cmd.NowMS, cmd.Keep, &Result{}
	if a.keep <= 0 {
		a.keep = DefaultKeep
	}

	switch cmd.Type {
	case CmdPutJob:
		a.putJob(cmd.PutJob)
	case CmdDeleteJob:
		a.deleteJob(cmd.DeleteJob.Key)
	case CmdPauseJob:
		a.pauseJob(cmd.PauseJob.Key)
	case CmdResumeJob:
		a.resumeJob(cmd.ResumeJob)
	case CmdFireBatch:
		a.term = cmd.FireBatch.Term
		a.fireBatch(cmd.FireBatch)
	case CmdTrigger:
		a.term = cmd.Trigger.Term
		a.triggerNow(cmd.Trigger)
	case CmdUpdates:
		a.term = cmd.Updates.Term
		a.updates(cmd.Updates)
	case CmdRetain:
		a.retain(cmd.Retain.BeforeMS)
	case CmdPutJobs:
		a.putJobs(cmd.PutJobs)
	case CmdGroup:
		a.groupState(cmd.Group)
	default:
		panic(fmt.Sprintf("swarm: shard %d: unknown command %q (upgrade this server to follow the log)", a.shard, cmd.Type))
	}
	return cmd, a.res
}

func (a *applier) fail(e *api.Error) { a.res.Err = e }

func conflict(format string, args ...any) *api.Error {
	return &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf(format, args...), Status: http.StatusConflict}
}

// putJob creates or replaces a job.
func (a *applier) putJob(p *PutJob) {
	key := p.Job.Key()
	old := a.job(key)

	switch {
	case p.Mode == PutCreate && old != nil:
		a.fail(api.AlreadyExists("job %s already exists", key))
		return
	case p.Mode == PutReplace && old == nil:
		a.fail(api.NotFound("job %s not found", key))
		return
	case old != nil && p.PrevVersion != old.Job.Version, old == nil && p.PrevVersion != 0:
		a.fail(conflict("job %s changed concurrently; retry", key))
		return
	}

	rec := &JobRecord{Job: p.Job, Trigger: p.Trigger}
	rec.Job.Version, rec.Job.State = 1, api.JobNormal
	rec.Job.CreatedAt, rec.Job.UpdatedAt = timePtr(a.now), timePtr(a.now)
	if old != nil {
		rec.Job.ID, rec.Job.CreatedAt = old.Job.ID, old.Job.CreatedAt
		rec.Job.Version = old.Job.Version + 1
		rec.ManualSeq, rec.Execs, rec.Active = old.ManualSeq, old.Execs, old.Active
		rec.LastOutcome = old.LastOutcome
		if old.Job.State == api.JobPaused {
			rec.Job.State = api.JobPaused
		}
		if p.TriggerChanged {
			a.cancelPending(rec, true, api.ReasonUpdated)
		}
		a.unsetDue(old)
	} else {
		a.addJobCount(1)
		if p.Paused {
			rec.Job.State = api.JobPaused
		}
	}
	a.setDue(rec)
	a.putJobRecord(rec)
	a.res.Job = rec
}

// putJobs applies a batch of puts, each with its own result.
func (a *applier) putJobs(puts []PutJob) {
	items := make([]*Result, len(puts))
	for i := range puts {
		a.res = &Result{}
		a.putJob(&puts[i])
		items[i] = a.res
	}
	a.res = &Result{Items: items}
}

// groupState pauses or resumes every job of a group. A resumed job keeps
// its trigger state; the leader's next scan runs missed fires through the
// misfire policy.
func (a *applier) groupState(g *GroupState) {
	prefix := []byte(g.Group + "/")
	var keys []string
	c := a.tx.Bucket(bucketJobs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, string(k))
	}
	n := 0
	for _, key := range keys {
		rec := a.job(key)
		switch {
		case g.Paused && rec.Job.State == api.JobNormal:
			a.pauseJob(key)
		case !g.Paused && rec.Job.State == api.JobPaused:
			a.resumeJob(&ResumeJob{Key: key, Version: rec.Job.Version, Trigger: rec.Trigger})
		default:
			continue
		}
		n++
	}
	a.res = &Result{Count: n, Cancelled: a.res.Cancelled}
}

// deleteJob removes a job; its fires not yet dispatched are cancelled.
func (a *applier) deleteJob(key string) {
	old := a.job(key)
	if old == nil {
		a.fail(api.NotFound("job %s not found", key))
		return
	}
	a.cancelPending(old, false, api.ReasonDeleted)
	a.unsetDue(old)
	if err := a.tx.Bucket(bucketJobs).Delete([]byte(key)); err != nil {
		panic(err)
	}
	a.addJobCount(-1)
}

// pauseJob pauses a job and cancels its fires committed for the future.
func (a *applier) pauseJob(key string) {
	rec := a.job(key)
	if rec == nil {
		a.fail(api.NotFound("job %s not found", key))
		return
	}
	if rec.Job.State == api.JobPaused {
		a.res.Job = rec
		return
	}
	a.unsetDue(rec)
	a.cancelPending(rec, true, api.ReasonPaused)
	rec.Job.State = api.JobPaused
	a.touch(rec)
	a.putJobRecord(rec)
	a.res.Job = rec
}

// resumeJob resumes a paused job with the trigger state the leader
// computed.
func (a *applier) resumeJob(r *ResumeJob) {
	rec := a.job(r.Key)
	switch {
	case rec == nil:
		a.fail(api.NotFound("job %s not found", r.Key))
		return
	case rec.Job.State != api.JobPaused:
		a.res.Job = rec
		return
	case rec.Job.Version != r.Version:
		a.fail(conflict("job %s changed concurrently; retry", r.Key))
		return
	}
	rec.Job.State = api.JobNormal
	rec.Trigger = r.Trigger
	a.touch(rec)
	a.setDue(rec)
	a.putJobRecord(rec)
	a.res.Job = rec
}

func (a *applier) touch(rec *JobRecord) {
	rec.Job.Version++
	rec.Job.UpdatedAt = timePtr(a.now)
}

// fireBatch applies each item whose job still has the version and due key
// the leader saw.
func (a *applier) fireBatch(b *FireBatch) {
	a.res.Applied = make([]bool, len(b.Items))
	for i := range b.Items {
		a.res.Applied[i] = a.fireItem(&b.Items[i])
	}
}

func (a *applier) fireItem(it *FireItem) bool {
	rec := a.job(it.Key)
	if rec == nil || rec.Job.Version != it.Version || rec.DueMS != it.DueMS || rec.Job.State != api.JobNormal {
		return false
	}
	for i := range it.Execs {
		a.newExec(rec, &it.Execs[i], false)
	}
	a.unsetDue(rec)
	rec.Trigger = it.Next
	a.setDue(rec)
	a.putJobRecord(rec)
	return true
}

// triggerNow creates the executions of a manual fire.
func (a *applier) triggerNow(t *TriggerNow) {
	rec := a.job(t.Key)
	if rec == nil {
		a.fail(api.NotFound("job %s not found", t.Key))
		return
	}
	jobID, err := ParseJobID(rec.Job.ID)
	if err != nil {
		panic(fmt.Sprintf("swarm: shard %d: job %s has a bad id: %v", a.shard, t.Key, err))
	}
	rec.ManualSeq++
	for i := range t.Pieces {
		p := t.Pieces[i]
		p.ScheduledMS = a.now
		p.ID = ExecID{Shard: a.shard, JobID: jobID, ScheduledMS: a.now, Piece: i, Manual: rec.ManualSeq}.String()
		a.newExec(rec, &p, true)
		a.res.ExecIDs = append(a.res.ExecIDs, p.ID)
	}
	a.putJobRecord(rec)
	a.res.Job = rec
}

// newExec stores a new execution of rec and indexes it.
func (a *applier) newExec(rec *JobRecord, n *NewExec, manual bool) {
	e := &ExecRecord{
		Execution: api.Execution{
			ID:          n.ID,
			Job:         rec.Job.Key(),
			ScheduledAt: msTime(n.ScheduledMS),
			State:       api.ExecScheduled,
			Attempt:     1,
			Piece:       n.Piece,
			Manual:      manual,
		},
		JobID:  rec.Job.ID,
		Target: n.Target,
		Server: n.Server,
		Term:   a.term,
	}
	rec.Execs++
	a.putIndex(e)
	if n.Skipped {
		e.State, e.Reason = api.ExecSkipped, n.Reason
		e.FinishedAt = timePtr(a.now)
		a.putHistory(e)
		a.trim(rec)
		return
	}
	rec.Active++
	a.putInflight(e)
}

// cancelPending skips rec's executions that were committed but not yet
// dispatched; with futureOnly, only those scheduled after now (a fire
// that is already due stays: it was committed before this command).
func (a *applier) cancelPending(rec *JobRecord, futureOnly bool, reason string) {
	prefix := jobIndexPrefix(rec.Job.Key())
	c := a.tx.Bucket(bucketJobExecs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ms, id := parseIndexKey(k, len(prefix))
		if futureOnly && ms <= a.now {
			break // newest first: the rest are older
		}
		e := a.inflight(id)
		if e == nil || !e.Pending() {
			continue
		}
		e.State, e.Reason, e.FinishedAt = api.ExecSkipped, reason, timePtr(a.now)
		a.finalize(rec, e)
		a.res.Cancelled = append(a.res.Cancelled, id)
	}
}

// updates applies a batch of execution changes.
func (a *applier) updates(b *ExecUpdates) {
	a.res.Applied = make([]bool, len(b.Updates))
	for i := range b.Updates {
		a.res.Applied[i] = a.update(&b.Updates[i])
	}
}

func (a *applier) update(u *ExecUpdate) bool {
	e := a.inflight(u.ID)
	if e == nil || e.Attempt != u.Attempt {
		return false // terminal already, or an older attempt
	}
	switch u.Kind {
	case UpdDispatched:
		return a.dispatched(e, u)
	case UpdRunning:
		return a.running(e, u)
	case UpdResult:
		return a.result(e, u)
	case UpdAssign:
		return a.assign(e, u)
	case UpdSkip:
		return a.skip(e, u)
	}
	return false
}

func (a *applier) dispatched(e *ExecRecord, u *ExecUpdate) bool {
	if e.State != api.ExecScheduled {
		return false
	}
	// The leader reports a hand-over after the fact, and the worker's
	// refusal can overtake it: the refusal's assign cleared the target, so
	// a dispatch to the old target is stale and would leave the execution
	// dispatched to no one, never sent again. An update without a client
	// comes from an older leader that did not name one.
	if u.Client != "" && u.Client != e.Target {
		return false
	}
	e.State = api.ExecDispatched
	e.FiredAt = timePtr(u.AtMS)
	a.putInflight(e)
	return true
}

func (a *applier) running(e *ExecRecord, u *ExecUpdate) bool {
	if e.State == api.ExecRunning && strings.HasPrefix(e.Client, "@") && u.Client != "" && !strings.HasPrefix(u.Client, "@") {
		// A fire handed to Kafka was taken by a worker: record who.
		e.Client = u.Client
		a.putInflight(e)
		return true
	}
	if e.State != api.ExecScheduled && e.State != api.ExecDispatched {
		return false
	}
	e.State = api.ExecRunning
	e.Client = u.Client
	e.StartedAt = timePtr(cmpOr(u.StartedMS, u.AtMS))
	if e.FiredAt == nil {
		e.FiredAt = timePtr(u.AtMS)
	}
	a.putInflight(e)
	return true
}

func (a *applier) result(e *ExecRecord, u *ExecUpdate) bool {
	if !api.Terminal(u.State) {
		return false
	}
	e.State, e.Reason = u.State, u.Reason
	e.ExitCode, e.HTTPStatus, e.Output, e.Error = u.ExitCode, u.HTTPStatus, u.Output, u.Error
	if u.Client != "" {
		e.Client = u.Client
	}
	if u.StartedMS != 0 {
		e.StartedAt = timePtr(u.StartedMS)
	}
	if e.FiredAt == nil && e.StartedAt != nil {
		e.FiredAt = e.StartedAt
	}
	e.FinishedAt = timePtr(u.AtMS)

	rec := a.job(e.Job)
	if rec != nil && rec.Job.ID == e.JobID && a.retry(rec, e) {
		a.putInflight(e)
		return true
	}
	a.finalize(rec, e)
	return true
}

// retry turns a failed attempt into the next one when the job's policy
// allows: the execution goes back to scheduled, with no target, not before
// the backoff has passed.
func (a *applier) retry(rec *JobRecord, e *ExecRecord) bool {
	switch e.State {
	case api.ExecFailed, api.ExecTimedOut, api.ExecLost:
	default:
		return false
	}
	r := rec.Job.Retries
	if e.Attempt > r.Max {
		return false
	}
	backoff := r.Backoff.D() << (e.Attempt - 1)
	if backoff > r.MaxBackoff.D() || backoff <= 0 {
		backoff = r.MaxBackoff.D()
	}
	e.Attempt++
	e.State, e.Reason = api.ExecScheduled, ""
	e.Target, e.Server, e.Term = "", "", a.term
	e.NotBeforeMS = a.now + backoff.Milliseconds()
	e.FiredAt, e.StartedAt, e.FinishedAt = nil, nil, nil
	return true
}

// assign records a target for the attempt (or clears it after a refusal),
// or starts a new attempt.
func (a *applier) assign(e *ExecRecord, u *ExecUpdate) bool {
	if u.Replaces != nil && *u.Replaces != e.Target && !u.NewAttempt {
		// Chosen from an older reading: another choice (or a refusal)
		// was committed since. Applying it would hand one attempt to a
		// second worker.
		return false
	}
	switch {
	case u.NewAttempt:
		e.Attempt++
		e.State = api.ExecScheduled
		e.FiredAt, e.StartedAt = nil, nil
	case e.State == api.ExecScheduled:
	case e.State == api.ExecDispatched && u.Client == "":
		// The target refused it, so it never ran: choose again.
		e.State, e.FiredAt = api.ExecScheduled, nil
	default:
		return false
	}
	e.Target, e.Server, e.Term = u.Client, u.Server, a.term
	a.putInflight(e)
	return true
}

func (a *applier) skip(e *ExecRecord, u *ExecUpdate) bool {
	if e.State != api.ExecScheduled {
		return false
	}
	e.State, e.Reason, e.FinishedAt = api.ExecSkipped, u.Reason, timePtr(u.AtMS)
	a.finalize(a.job(e.Job), e)
	return true
}

// finalize moves a terminal execution from inflight to history, records
// its outcome on the job, and trims the job's history to the bound.
func (a *applier) finalize(rec *JobRecord, e *ExecRecord) {
	if err := a.tx.Bucket(bucketInflight).Delete([]byte(e.ID)); err != nil {
		panic(err)
	}
	own := rec != nil && rec.Job.ID == e.JobID
	if own && IsOutcome(e.State) {
		e.PrevOutcome, rec.LastOutcome = rec.LastOutcome, e.State
	}
	a.putHistory(e)
	if !own {
		return
	}
	rec.Active = max(0, rec.Active-1)
	a.trim(rec)
	a.putJobRecord(rec)
}

// trim drops the oldest terminal executions beyond the history bound.
func (a *applier) trim(rec *JobRecord) {
	prefix := jobIndexPrefix(rec.Job.Key())
	c := a.tx.Bucket(bucketJobExecs).Cursor()
	for rec.Execs > a.keep {
		k, _ := c.Seek(jobIndexEnd(rec.Job.Key()))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return
		}
		ms, id := parseIndexKey(k, len(prefix))
		if a.inflight(id) != nil {
			return // the oldest still runs; keep it
		}
		a.deleteHistory(ms, id)
		if err := c.Delete(); err != nil {
			panic(err)
		}
		rec.Execs--
	}
}

// retain drops whole hour buckets of history older than before.
func (a *applier) retain(before int64) {
	hist := a.tx.Bucket(bucketHistory)
	cutoff := hourKey(before)
	var drop [][]byte
	c := hist.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, cutoff) < 0; k, _ = c.Next() {
		drop = append(drop, append([]byte(nil), k...))
	}
	for _, h := range drop {
		a.dropHour(hist, h)
	}
}

func (a *applier) dropHour(hist *bolt.Bucket, hour []byte) {
	jobs := map[string]int{}
	b := hist.Bucket(hour)
	idx := a.tx.Bucket(bucketJobExecs)
	_ = b.ForEach(func(k, v []byte) error {
		var e ExecRecord
		if err := json.Unmarshal(v, &e); err != nil {
			return nil
		}
		if err := idx.Delete(indexKey(e.Job, e.ScheduledAt.UnixMilli(), e.ID)); err != nil {
			panic(err)
		}
		jobs[e.Job]++
		return nil
	})
	if err := hist.DeleteBucket(hour); err != nil {
		panic(err)
	}
	for _, key := range sortedKeys(jobs) {
		if rec := a.job(key); rec != nil {
			rec.Execs = max(0, rec.Execs-jobs[key])
			a.putJobRecord(rec)
		}
	}
}

// --- storage helpers ---

func (a *applier) job(key string) *JobRecord {
	v := a.tx.Bucket(bucketJobs).Get([]byte(key))
	if v == nil {
		return nil
	}
	var rec JobRecord
	mustUnmarshal(v, &rec)
	return &rec
}

func (a *applier) putJobRecord(rec *JobRecord) {
	if err := a.tx.Bucket(bucketJobs).Put([]byte(rec.Job.Key()), mustMarshal(rec)); err != nil {
		panic(err)
	}
}

// setDue indexes rec at its next fire time, or marks it complete.
func (a *applier) setDue(rec *JobRecord) {
	rec.DueMS = 0
	if rec.Trigger.Done() {
		if rec.Job.State == api.JobNormal {
			rec.Job.State = api.JobComplete
		}
		return
	}
	if rec.Job.State == api.JobComplete {
		rec.Job.State = api.JobNormal
	}
	if rec.Job.State != api.JobNormal {
		return
	}
	rec.DueMS = rec.Trigger.Next.UnixMilli()
	if err := a.tx.Bucket(bucketDue).Put(DueKey(rec.DueMS, rec.Job.Key()), nil); err != nil {
		panic(err)
	}
}

func (a *applier) unsetDue(rec *JobRecord) {
	if rec.DueMS == 0 {
		return
	}
	if err := a.tx.Bucket(bucketDue).Delete(DueKey(rec.DueMS, rec.Job.Key())); err != nil {
		panic(err)
	}
	rec.DueMS = 0
}

func (a *applier) addJobCount(d int64) {
	meta := a.tx.Bucket(bucketMeta)
	n := int64(getU64(meta, keyJobs)) + d
	if err := meta.Put(keyJobs, u64(uint64(max(n, 0)))); err != nil {
		panic(err)
	}
}

func (a *applier) inflight(id string) *ExecRecord {
	v := a.tx.Bucket(bucketInflight).Get([]byte(id))
	if v == nil {
		return nil
	}
	var e ExecRecord
	mustUnmarshal(v, &e)
	return &e
}

func (a *applier) putInflight(e *ExecRecord) {
	if err := a.tx.Bucket(bucketInflight).Put([]byte(e.ID), mustMarshal(e)); err != nil {
		panic(err)
	}
}

func (a *applier) putHistory(e *ExecRecord) {
	b, err := a.tx.Bucket(bucketHistory).CreateBucketIfNotExists(hourKey(e.ScheduledAt.UnixMilli()))
	if err != nil {
		panic(err)
	}
	if err := b.Put([]byte(e.ID), mustMarshal(e)); err != nil {
		panic(err)
	}
}

func (a *applier) deleteHistory(ms int64, id string) {
	if b := a.tx.Bucket(bucketHistory).Bucket(hourKey(ms)); b != nil {
		if err := b.Delete([]byte(id)); err != nil {
			panic(err)
		}
	}
}

func (a *applier) putIndex(e *ExecRecord) {
	if err := a.tx.Bucket(bucketJobExecs).Put(indexKey(e.Job, e.ScheduledAt.UnixMilli(), e.ID), nil); err != nil {
		panic(err)
	}
}

// --- keys ---

// orderMS maps a signed unix-ms time to an unsigned value with the same
// order, so big-endian keys sort by time.
func orderMS(ms int64) uint64 { return uint64(ms) ^ (1 << 63) }

// DueKey is the due-index key of a job due at ms: big-endian time, then
// the job key.
func DueKey(ms int64, jobKey string) []byte {
	k := make([]byte, 8, 8+len(jobKey))
	binary.BigEndian.PutUint64(k, orderMS(ms))
	return append(k, jobKey...)
}

// ParseDueKey splits a due key.
func ParseDueKey(k []byte) (int64, string) {
	return int64(binary.BigEndian.Uint64(k[:8]) ^ (1 << 63)), string(k[8:])
}

func hourKey(ms int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, orderMS(ms/int64(time.Hour/time.Millisecond)))
	return b
}

func jobIndexPrefix(jobKey string) []byte { return append([]byte(jobKey), 0) }

func jobIndexEnd(jobKey string) []byte { return append([]byte(jobKey), 1) }

// indexKey orders a job's executions newest first: job key, 0x00, the
// inverted scheduled time, the execution id.
func indexKey(jobKey string, ms int64, id string) []byte {
	k := jobIndexPrefix(jobKey)
	k = binary.BigEndian.AppendUint64(k, ^orderMS(ms))
	return append(k, id...)
}

func parseIndexKey(k []byte, prefixLen int) (int64, string) {
	inv := binary.BigEndian.Uint64(k[prefixLen : prefixLen+8])
	return int64(^inv ^ (1 << 63)), string(k[prefixLen+8:])
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mustUnmarshal(b []byte, v any) {
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Sprintf("swarm: corrupt record: %v", err))
	}
}

func cmpOr(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}
