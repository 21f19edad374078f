package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/scheduler"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// putRetries bounds the retries of a put that lost a race with another
// write to the same job.
const putRetries = 3

// backend implements the REST API on this server's shards.
type backend struct{ s *Server }

var _ transport.Backend = (*backend)(nil)

// shardOf maps a job key to its shard with the current slot map.
func (b *backend) shardOf(key string) (int, error) {
	deadline := time.Now().Add(leaderWait)
	for {
		n, ok := b.s.meta.State().ShardOfSlot(shard.Slot(key))
		if ok {
			return n, nil
		}
		if time.Now().After(deadline) {
			return 0, api.Unavailable("no shard owns job %s yet (the server is starting); retry", key)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notLeaderHere marks the 503 a request gets when this server was chosen
// as its shard's leader but no longer leads: nothing was proposed, so the
// router sends the request again to the new leader.
const notLeaderHere = "is not led by this server"

// leaderWait bounds how long a request waits for its shard to elect a
// leader (at start, or during a failover) before it answers 503.
const leaderWait = 5 * time.Second

// leader returns the runner of shard n when this server leads it. While
// no server is known to lead the shard (an election), it waits up to
// leaderWait for one.
func (b *backend) leader(n int) (*shard.Runner, error) {
	deadline := time.Now().Add(leaderWait)
	for b.s.shardLeader(n) == "" && time.Now().Before(deadline) {
		select {
		case <-b.s.ctx.Done():
			return nil, api.Unavailable("server is stopping")
		case <-time.After(20 * time.Millisecond):
		}
	}
	r := b.s.runner(n)
	if r == nil || !r.Group.IsLeader() {
		return nil, api.Unavailable("shard %d %s (leader %q); retry", n, notLeaderHere, b.s.shardLeader(n))
	}
	return r, nil
}

// awaitLeader returns the server leading shard n, waiting up to
// leaderWait while none is known.
func (b *backend) awaitLeader(n int) string {
	deadline := time.Now().Add(leaderWait)
	for {
		if id := b.s.shardLeader(n); id != "" || time.Now().After(deadline) {
			return id
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *backend) leaderOfKey(key string) (*shard.Runner, error) {
	n, err := b.shardOf(key)
	if err != nil {
		return nil, err
	}
	return b.leader(n)
}

// readLeader returns the leader once it has applied everything committed
// before its term and confirmed it still leads, so a read is never stale:
// not from a deposed leader, nor from a new one still catching up.
func (b *backend) readLeader(key string) (*shard.Runner, error) {
	n, err := b.shardOf(key)
	if err != nil {
		return nil, err
	}
	return b.readShard(n)
}

func (b *backend) readShard(n int) (*shard.Runner, error) {
	// One budget for finding the leader and for its catching up.
	ctx, cancel := context.WithTimeout(context.Background(), leaderWait)
	defer cancel()
	r, err := b.leader(n)
	if err != nil {
		return nil, err
	}
	if !r.WaitReady(ctx) {
		return nil, api.Unavailable("shard %d %s (its new leader is catching up); retry", n, notLeaderHere)
	}
	if err := r.Group.Raft.VerifyLeader().Error(); err != nil {
		return nil, proposeError(err)
	}
	return r, nil
}

// proposeError turns Raft's errors into API errors.
func proposeError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrRaftShutdown):
		return api.Unavailable("%v; retry", err)
	}
	return err
}

func (b *backend) propose(r *shard.Runner, c *fsm.Command) (*fsm.Result, error) {
	c.NowMS = b.s.clock.Now().UnixMilli()
	res, err := r.Group.Propose(c)
	if err != nil {
		return nil, proposeError(err)
	}
	if res.Err != nil {
		return res, res.Err
	}
	return res, nil
}

// --- jobs ---

func (b *backend) CreateJob(ctx context.Context, j api.Job) (api.Job, error) {
	put, r, err := b.preparePut(j, nil, fsm.PutCreate)
	if err != nil {
		return api.Job{}, err
	}
	res, err := b.propose(r, &fsm.Command{Type: fsm.CmdPutJob, PutJob: put})
	if err != nil {
		return api.Job{}, err
	}
	return res.Job.View(), nil
}

// preparePut validates j and computes what the leader commits: its
// trigger's first state, or the current state when the trigger did not
// change.
func (b *backend) preparePut(j api.Job, old *fsm.JobRecord, mode string) (*fsm.PutJob, *shard.Runner, error) {
	trig, err := j.Normalize()
	if err != nil {
		return nil, nil, err
	}
	st := b.s.meta.State()
	if name := j.Trigger.Calendar; name != "" {
		if _, ok := st.Calendars[name]; !ok {
			return nil, nil, api.Invalid("trigger.calendar", "calendar %q does not exist", name)
		}
	}
	r, err := b.leaderOfKey(j.Key())
	if err != nil {
		return nil, nil, err
	}

	put := &fsm.PutJob{Job: j, Mode: mode, Paused: st.PausedGroups[j.Group]}
	if old == nil {
		put.Job.ID = fsm.FormatJobID(randUint64())
		put.Trigger = trig.Initial(b.s.clock.Now(), b.calendarOrNil(j.Trigger.Calendar))
		return put, r, nil
	}
	put.Job.ID, put.PrevVersion = old.Job.ID, old.Job.Version
	put.TriggerChanged = !sameSpec(old.Job.Trigger, j.Trigger)
	put.Trigger = old.Trigger
	if put.TriggerChanged {
		put.Trigger = trig.Initial(b.s.clock.Now(), b.calendarOrNil(j.Trigger.Calendar))
	}
	return put, r, nil
}

func (b *backend) calendarOrNil(name string) scheduler.Calendar {
	if name == "" {
		return nil
	}
	cal, err := b.s.calendar(name)
	if err != nil {
		return nil
	}
	return cal
}

func sameSpec(a, c scheduler.Spec) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(c)
	return string(x) == string(y)
}

func (b *backend) PutJob(ctx context.Context, j api.Job, create bool) (api.Job, bool, error) {
	for attempt := 0; ; attempt++ {
		out, created, err := b.putOnce(j, create)
		var e *api.Error
		if errors.As(err, &e) && e.Code == api.CodeConflict && attempt < putRetries {
			continue // another write won the race; read again and retry
		}
		return out, created, err
	}
}

func (b *backend) putOnce(j api.Job, create bool) (api.Job, bool, error) {
	r, err := b.readLeader(j.Group + "/" + j.Name)
	if err != nil {
		return api.Job{}, false, err
	}
	old, err := r.Shard.Job(j.Group + "/" + j.Name)
	if err != nil {
		return api.Job{}, false, err
	}
	if old == nil && !create {
		return api.Job{}, false, api.NotFound("job %s/%s not found", j.Group, j.Name)
	}
	mode := fsm.PutReplace
	if old == nil {
		mode = fsm.PutCreate
	}
	put, r, err := b.preparePut(j, old, mode)
	if err != nil {
		return api.Job{}, false, err
	}
	res, err := b.propose(r, &fsm.Command{Type: fsm.CmdPutJob, PutJob: put})
	if err != nil {
		return api.Job{}, false, err
	}
	return res.Job.View(), old == nil, nil
}

func (b *backend) GetJob(ctx context.Context, key string) (api.Job, error) {
	r, err := b.readLeader(key)
	if err != nil {
		return api.Job{}, err
	}
	rec, err := r.Shard.Job(key)
	if err != nil {
		return api.Job{}, err
	}
	if rec == nil {
		return api.Job{}, api.NotFound("job %s not found", key)
	}
	return rec.View(), nil
}

// ListJobs merges the shards' key-ordered lists, each from its leader.
func (b *backend) ListJobs(ctx context.Context, group, cursor string, limit int) (api.JobList, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return api.JobList{}, api.Invalid("cursor", "is not a cursor this server issued")
	}
	var all []api.Job
	for _, info := range b.s.meta.State().Shards {
		jobs, err := b.shardJobs(ctx, info.ID, group, after, limit+1)
		if err != nil {
			return api.JobList{}, err
		}
		all = append(all, jobs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Key() < all[j].Key() })

	out := api.JobList{Jobs: []api.Job{}}
	for i := range all {
		if i == limit {
			out.NextCursor = encodeCursor(all[i-1].Key())
			break
		}
		out.Jobs = append(out.Jobs, all[i])
	}
	return out, nil
}

// shardJobs lists one shard's jobs here if this server leads it, else
// from its leader.
func (b *backend) shardJobs(ctx context.Context, n int, group, after string, limit int) ([]api.Job, error) {
	var jobs []api.Job
	err := b.onLeader(ctx, n, func(leader string) error {
		if leader == b.s.id.NodeID {
			var err error
			jobs, err = b.localJobs(n, group, after, limit)
			return err
		}
		q := url.Values{"group": {group}, "after": {after}, "limit": {strconv.Itoa(limit)}}
		var out api.JobList
		err := b.s.peers.call(ctx, leader, "GET", fmt.Sprintf("/v1/internal/shards/%d/jobs?%s", n, q.Encode()), nil, &out)
		jobs = out.Jobs
		return err
	})
	return jobs, err
}

// onLeader runs fn with the server leading shard n (this one or another).
// While leadership moves (fn answers unavailable), it retries with the
// newest knowledge for up to leaderWait.
func (b *backend) onLeader(ctx context.Context, n int, fn func(leader string) error) error {
	deadline := time.Now().Add(leaderWait)
	for {
		leader := b.awaitLeader(n)
		if leader == "" {
			leader = b.s.id.NodeID // answers 503 itself
		}
		err := fn(leader)
		if err == nil || api.StatusOf(err) != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// localJobs lists a shard this server leads.
func (b *backend) localJobs(n int, group, after string, limit int) ([]api.Job, error) {
	r, err := b.readShard(n)
	if err != nil {
		return nil, err
	}
	recs, err := r.Shard.Jobs(group, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]api.Job, len(recs))
	for i, rec := range recs {
		out[i] = rec.View()
	}
	return out, nil
}

func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return string(b), err
}

func (b *backend) DeleteJob(ctx context.Context, key string) error {
	r, err := b.leaderOfKey(key)
	if err != nil {
		return err
	}
	_, err = b.propose(r, &fsm.Command{Type: fsm.CmdDeleteJob, DeleteJob: &fsm.JobRef{Key: key}})
	return err
}

func (b *backend) PauseJob(ctx context.Context, key string) (api.Job, error) {
	r, err := b.leaderOfKey(key)
	if err != nil {
		return api.Job{}, err
	}
	res, err := b.propose(r, &fsm.Command{Type: fsm.CmdPauseJob, PauseJob: &fsm.JobRef{Key: key}})
	if err != nil {
		return api.Job{}, err
	}
	return res.Job.View(), nil
}

// ResumeJob resumes with the stored trigger state: the leader's next scan
// fires what is late by less than the misfire threshold and runs older
// misses through the trigger's misfire policy, as Quartz does on resume.
func (b *backend) ResumeJob(ctx context.Context, key string) (api.Job, error) {
	for attempt := 0; ; attempt++ {
		r, err := b.readLeader(key)
		if err != nil {
			return api.Job{}, err
		}
		rec, err := r.Shard.Job(key)
		if err != nil {
			return api.Job{}, err
		}
		if rec == nil {
			return api.Job{}, api.NotFound("job %s not found", key)
		}
		res, err := b.propose(r, &fsm.Command{Type: fsm.CmdResumeJob, ResumeJob: &fsm.ResumeJob{Key: key, Version: rec.Job.Version, Trigger: rec.Trigger}})
		var e *api.Error
		if errors.As(err, &e) && e.Code == api.CodeConflict && attempt < putRetries {
			continue
		}
		if err != nil {
			return api.Job{}, err
		}
		return res.Job.View(), nil
	}
}

// TriggerJob fires a job once now: one execution per piece, targets chosen
// before the commit like every fire.
func (b *backend) TriggerJob(ctx context.Context, key string) ([]string, error) {
	r, err := b.readLeader(key)
	if err != nil {
		return nil, err
	}
	rec, err := r.Shard.Job(key)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, api.NotFound("job %s not found", key)
	}

	pieces := max(rec.Job.ShardingCount, 1)
	targets := b.s.dispatch.Pick(&rec.Job, pieces, nil, rec.ManualSeq)
	if rec.Job.Routing == api.RoutingBroadcast {
		pieces = max(len(targets), 1)
	}
	news := make([]fsm.NewExec, pieces)
	for i := range news {
		if i < len(targets) {
			news[i].Target, news[i].Server = targets[i].Client, targets[i].Server
		}
		if pieces > 1 || rec.Job.ShardingCount > 0 {
			news[i].Piece = &api.Piece{Index: i, Count: pieces, Parameter: param(&rec.Job, i)}
		}
	}
	cmd := &fsm.Command{Type: fsm.CmdTrigger, Keep: 0, Trigger: &fsm.TriggerNow{Key: key, Term: r.Group.Raft.CurrentTerm(), Pieces: news}}
	res, err := b.propose(r, cmd)
	if err != nil {
		return nil, err
	}
	if f := r.Firer(); f != nil {
		f.Enqueue(res.ExecIDs...)
	}
	return res.ExecIDs, nil
}

func param(j *api.Job, i int) string {
	if i < len(j.ShardingParameters) {
		return j.ShardingParameters[i]
	}
	return ""
}

// BatchJobs splits a batch by shard: the shards this server leads commit
// here, many puts per Raft entry; the others go to their leaders as one
// batch each.
func (b *backend) BatchJobs(ctx context.Context, req api.BatchRequest) (api.BatchResponse, error) {
	out := api.BatchResponse{Results: make([]api.BatchResult, len(req.Jobs))}
	byShard := map[int][]int{}
	for i := range req.Jobs {
		key := req.Jobs[i].Group + "/" + req.Jobs[i].Name
		out.Results[i].Key = key
		n, err := b.shardOf(key)
		if err != nil {
			setBatchError(&out.Results[i], err)
			continue
		}
		byShard[n] = append(byShard[n], i)
	}
	for _, n := range sortedInts(byShard) {
		idx := byShard[n]
		err := b.onLeader(ctx, n, func(leader string) error {
			if leader == b.s.id.NodeID {
				b.localBatch(n, req, idx, &out)
				return nil
			}
			return b.remoteBatch(ctx, leader, req, idx, &out)
		})
		if err != nil {
			for _, i := range idx {
				setBatchError(&out.Results[i], err)
			}
		}
	}
	return out, nil
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// remoteBatch sends one shard's part of a batch to its leader; an error
// means none of it was answered.
func (b *backend) remoteBatch(ctx context.Context, leader string, req api.BatchRequest, idx []int, out *api.BatchResponse) error {
	part := api.BatchRequest{Mode: req.Mode}
	for _, i := range idx {
		part.Jobs = append(part.Jobs, req.Jobs[i])
	}
	var res api.BatchResponse
	if err := b.s.peers.call(ctx, leader, "POST", "/v1/jobs:batch", part, &res); err != nil {
		return err
	}
	for k, i := range idx {
		if k < len(res.Results) {
			out.Results[i] = res.Results[k]
		}
	}
	return nil
}

func (b *backend) localBatch(n int, req api.BatchRequest, idx []int, out *api.BatchResponse) {
	puts := make([]*fsm.PutJob, len(req.Jobs))
	var ok []int
	for _, i := range idx {
		put, err := b.prepareBatchPut(req.Jobs[i], req.Mode)
		if err != nil {
			setBatchError(&out.Results[i], err)
			continue
		}
		puts[i] = put
		ok = append(ok, i)
	}
	b.commitBatch(n, ok, puts, out)
}

func (b *backend) prepareBatchPut(j api.Job, mode string) (*fsm.PutJob, error) {
	if mode != api.BatchUpsert {
		put, _, err := b.preparePut(j, nil, fsm.PutCreate)
		return put, err
	}
	key := j.Group + "/" + j.Name
	r, err := b.readLeader(key)
	if err != nil {
		if _, nerr := j.Normalize(); nerr != nil {
			return nil, nerr
		}
		return nil, err
	}
	old, err := r.Shard.Job(key)
	if err != nil {
		return nil, err
	}
	m := fsm.PutUpsert
	put, _, err := b.preparePut(j, old, m)
	return put, err
}

func (b *backend) commitBatch(n int, idx []int, puts []*fsm.PutJob, out *api.BatchResponse) {
	const chunk = 500
	r, err := b.leader(n)
	for start := 0; start < len(idx); start += chunk {
		part := idx[start:min(start+chunk, len(idx))]
		if err != nil {
			for _, i := range part {
				setBatchError(&out.Results[i], err)
			}
			continue
		}
		cmd := &fsm.Command{Type: fsm.CmdPutJobs}
		for _, i := range part {
			cmd.PutJobs = append(cmd.PutJobs, *puts[i])
		}
		res, perr := b.propose(r, cmd)
		for k, i := range part {
			switch {
			case perr != nil:
				setBatchError(&out.Results[i], perr)
			case res.Items[k].Err != nil:
				setBatchError(&out.Results[i], res.Items[k].Err)
			default:
				setBatchOK(&out.Results[i], puts[i].PrevVersion == 0)
			}
		}
	}
}

// PauseGroup pauses or resumes a job group: it is remembered (jobs created
// in a paused group start paused) and applied to every job of the group,
// shard by shard on each shard's leader. It runs on the meta leader.
func (b *backend) PauseGroup(ctx context.Context, group string, pause bool) (int, error) {
	typ := fsm.MetaResumeGroup
	if pause {
		typ = fsm.MetaPauseGroup
	}
	if err := b.proposeMeta(&fsm.MetaCommand{Type: typ, Name: group}); err != nil {
		return 0, err
	}
	total := 0
	for _, info := range b.s.meta.State().Shards {
		n, err := b.shardGroup(ctx, info.ID, group, pause)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (b *backend) shardGroup(ctx context.Context, n int, group string, pause bool) (int, error) {
	count := 0
	err := b.onLeader(ctx, n, func(leader string) error {
		if leader == b.s.id.NodeID {
			var err error
			count, err = b.localGroup(n, group, pause)
			return err
		}
		var out struct {
			Count int `json:"count"`
		}
		err := b.s.peers.call(ctx, leader, "POST", fmt.Sprintf("/v1/internal/shards/%d/group", n), groupRequest{Group: group, Paused: pause}, &out)
		count = out.Count
		return err
	})
	return count, err
}

// localGroup pauses or resumes a group's jobs in a shard this server leads.
func (b *backend) localGroup(n int, group string, pause bool) (int, error) {
	r, err := b.leader(n)
	if err != nil {
		return 0, err
	}
	res, err := b.propose(r, &fsm.Command{Type: fsm.CmdGroup, Group: &fsm.GroupState{Group: group, Paused: pause}})
	if err != nil {
		return 0, err
	}
	return res.Count, nil
}

func (b *backend) proposeMeta(c *fsm.MetaCommand) error {
	if !b.s.metaGroup.IsLeader() {
		// TODO: forward meta writes to the meta leader's server.
		return api.Unavailable("this server does not lead the meta group (leader %q); retry", b.s.metaGroup.LeaderID())
	}
	c.NowMS = b.s.clock.Now().UnixMilli()
	return proposeError(b.s.metaGroup.ProposeMeta(c))
}

// --- executions ---

func (b *backend) ListExecutions(ctx context.Context, key, cursor string, limit int) (api.ExecutionList, error) {
	r, err := b.readLeader(key)
	if err != nil {
		return api.ExecutionList{}, err
	}
	rec, err := r.Shard.Job(key)
	if err != nil {
		return api.ExecutionList{}, err
	}
	if rec == nil {
		return api.ExecutionList{}, api.NotFound("job %s not found", key)
	}
	execs, next, err := r.Shard.Execs(key, rec.Job.ID, cursor, limit)
	if err != nil {
		return api.ExecutionList{}, api.Invalid("cursor", "is not a cursor this server issued")
	}
	out := api.ExecutionList{Executions: make([]api.Execution, len(execs)), NextCursor: next}
	for i, e := range execs {
		out.Executions[i] = e.Execution
	}
	return out, nil
}

func (b *backend) execLeader(id string) (*shard.Runner, *fsm.ExecRecord, error) {
	parsed, err := fsm.ParseExecID(id)
	if err != nil {
		return nil, nil, api.NotFound("execution %s not found", id)
	}
	r, err := b.readShard(parsed.Shard)
	if err != nil {
		return nil, nil, err
	}
	e, err := r.Shard.Exec(id)
	if err != nil {
		return nil, nil, err
	}
	if e == nil {
		return nil, nil, api.NotFound("execution %s not found", id)
	}
	return r, e, nil
}

func (b *backend) GetExecution(ctx context.Context, id string) (api.Execution, error) {
	_, e, err := b.execLeader(id)
	if err != nil {
		return api.Execution{}, err
	}
	return e.Execution, nil
}

// KillExecution stops a run: a fire not yet sent is skipped; a sent or
// running one is told to stop on its client, which reports it killed.
func (b *backend) KillExecution(ctx context.Context, id string) error {
	r, e, err := b.execLeader(id)
	if err != nil {
		return err
	}
	if api.Terminal(e.State) {
		return &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf("execution %s already ended (%s)", id, e.State), Status: http.StatusConflict}
	}
	if e.State == api.ExecScheduled {
		cmd := &fsm.Command{Type: fsm.CmdUpdates, Updates: &fsm.ExecUpdates{Term: r.Group.Raft.CurrentTerm(), Updates: []fsm.ExecUpdate{
			{ID: id, Attempt: e.Attempt, Kind: fsm.UpdSkip, AtMS: b.s.clock.Now().UnixMilli(), Reason: api.ExecKilled},
		}}}
		_, err := b.propose(r, cmd)
		return err
	}
	client := e.Client
	if client == "" {
		client = e.Target
	}
	return b.s.dispatch.killNow(client, id, api.ExecKilled)
}

func (b *backend) ExecutionLogs(ctx context.Context, id string, follow bool, w transport.LogWriter) error {
	r, e, err := b.execLeader(id)
	if err != nil {
		return err
	}
	finished := func() bool {
		cur, err := r.Shard.Exec(id)
		return err != nil || cur == nil || api.Terminal(cur.State)
	}
	if api.Terminal(e.State) {
		follow = false
	}
	return b.s.logs.read(ctx, id, follow, finished, w)
}

// --- triggers and calendars ---

// MaxPreview bounds the fire times one preview lists.
const MaxPreview = 1000

func (b *backend) Preview(ctx context.Context, req api.PreviewRequest) (api.PreviewResponse, error) {
	count := req.Count
	if count == 0 {
		count = 10
	}
	if count < 1 || count > MaxPreview {
		return api.PreviewResponse{}, api.Invalid("count", "must be between 1 and %d", MaxPreview)
	}
	trig, err := api.CompileTrigger("trigger", req.Trigger)
	if err != nil {
		return api.PreviewResponse{}, err
	}
	var cal scheduler.Calendar
	if name := req.Trigger.Calendar; name != "" {
		if cal, err = b.s.calendar(name); err != nil {
			return api.PreviewResponse{}, api.Invalid("trigger.calendar", "%v", err)
		}
	}
	from := b.s.clock.Now()
	if req.From != nil {
		from = *req.From
	}
	times := scheduler.Preview(trig, cal, from, count)
	out := api.PreviewResponse{FireTimes: make([]time.Time, len(times)), LocalTimes: make([]string, len(times)), TimeZone: trig.Location().String()}
	for i, t := range times {
		out.FireTimes[i] = t.UTC()
		out.LocalTimes[i] = t.In(trig.Location()).Format("Mon 2006-01-02 15:04:05.000 MST")
	}
	return out, nil
}

func (b *backend) PutCalendar(ctx context.Context, c scheduler.CalendarSpec, create bool) (scheduler.CalendarSpec, error) {
	if err := api.CheckName("name", c.Name); err != nil {
		return c, err
	}
	st := b.s.meta.State()
	if !create {
		if _, ok := st.Calendars[c.Name]; !ok {
			return c, api.NotFound("calendar %s not found", c.Name)
		}
	}
	_, err := scheduler.CompileCalendar(c, func(base string) (scheduler.Calendar, error) {
		if base == c.Name {
			return nil, fmt.Errorf("a calendar cannot be its own base")
		}
		return compileCalendar(st, base, 1)
	})
	if err != nil {
		var fe *scheduler.FieldError
		if errors.As(err, &fe) {
			return c, api.Invalid(fe.Field, "%s", fe.Message)
		}
		return c, api.Invalid("", "%v", err)
	}
	err = b.proposeMeta(&fsm.MetaCommand{Type: fsm.MetaPutCalendar, Calendar: &c, Create: create})
	return c, err
}

func (b *backend) GetCalendar(ctx context.Context, name string) (scheduler.CalendarSpec, error) {
	c, ok := b.s.meta.State().Calendars[name]
	if !ok {
		return c, api.NotFound("calendar %s not found", name)
	}
	return c, nil
}

func (b *backend) ListCalendars(ctx context.Context) ([]scheduler.CalendarSpec, error) {
	st := b.s.meta.State()
	out := make([]scheduler.CalendarSpec, 0, len(st.Calendars))
	for _, name := range sortedNames(st.Calendars) {
		out = append(out, st.Calendars[name])
	}
	return out, nil
}

func (b *backend) DeleteCalendar(ctx context.Context, name string) error {
	st := b.s.meta.State()
	for other, c := range st.Calendars {
		if c.Base == name {
			return &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf("calendar %s is the base of %s", name, other), Status: http.StatusConflict}
		}
	}
	return b.proposeMeta(&fsm.MetaCommand{Type: fsm.MetaDeleteCalendar, Name: name})
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// --- cluster and clients ---

func (b *backend) Cluster(ctx context.Context) (api.Cluster, error) {
	return b.s.clusterStatus(), nil
}

// Clients lists the clients of every server: this server's own, the
// others' as of their last report.
func (b *backend) Clients(ctx context.Context, group, cursor string, limit int) (api.ClientList, error) {
	all := append(b.s.hub.Clients(), b.s.view.remoteClients(b.s.id.NodeID)...)
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	out := api.ClientList{Clients: []api.Client{}}
	for _, c := range all {
		if group != "" && c.Group != group || c.ID <= cursor {
			continue
		}
		if len(out.Clients) == limit {
			out.NextCursor = out.Clients[limit-1].ID
			break
		}
		out.Clients = append(out.Clients, c.API())
	}
	return out, nil
}

func setBatchError(r *api.BatchResult, err error) {
	e := api.AsError(err)
	r.Status, r.Error = e.Status, e
}

func setBatchOK(r *api.BatchResult, created bool) {
	r.Status = http.StatusOK
	if created {
		r.Status = http.StatusCreated
	}
}
