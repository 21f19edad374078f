package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// Workload tuning.
const (
	crudPause        = 40 * time.Millisecond // between two ops of one worker
	keyEpoch         = 6 * time.Second       // the workers move to fresh keys this often
	execPollEvery    = 15 * time.Second      // well under the 100 executions a job keeps at one per second
	execPollLimit    = 100
	execPollParallel = 8
	execPollTimeout  = 4 * time.Second
)

// sinkCommand appends one line per run to the sink: one printf of a line
// far below PIPE_BUF to a file opened with O_APPEND, so concurrent runs
// never interleave. The columns are the Fire fields.
const sinkCommand = `printf '%%s\t%%s\t%%s\t%%s\t%%s\t%%s\t%%s\t%%s\t%%s\n' "$SWARM_JOB" "$SWARM_SCHEDULED_AT" "$SWARM_EXECUTION_ID" ` +
	`"$SWARM_ATTEMPT" "$SWARM_SHARD" "$SWARM_TERM" "$SWARM_LEADER" "$CHAOS_CLIENT" "$(date +%%s%%N)" >> %s`

// recorder collects the CRUD history.
type recorder struct {
	start time.Time // the zero of Op times
	mu    sync.Mutex
	ops   []Op
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(op Op) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

func (r *recorder) all() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// firingJob is the job body of firing job i.
func firingJob(i int, sink string) *api.Job {
	j := &api.Job{
		Group: fireGroup, Name: fmt.Sprintf("f-%02d", i),
		Trigger:     scheduler.Spec{Kind: scheduler.KindCron, Cron: "* * * * * ?"},
		Executor:    api.Executor{Kind: api.ExecutorProcess, Command: fmt.Sprintf(sinkCommand, sink), Shell: true},
		ClientGroup: clientGroup,
	}
	if i%3 == 0 {
		j.Retries = api.Retries{Max: 2, Backoff: api.Duration(time.Second)}
	}
	return j
}

// createFiringJobs creates the firing jobs, retrying each until it is
// acknowledged (a 409 after an unanswered attempt also counts), and
// returns them with the instant of their acknowledgement.
func createFiringJobs(ctx context.Context, c *cluster, n int, sink string) ([]FiringJob, error) {
	var out []FiringJob
	for i := range n {
		j := firingJob(i, sink)
		for attempt := 0; ; attempt++ {
			s := c.servers[(i+attempt)%len(c.servers)]
			a, err := doJSON(c.hc, http.MethodPost, "http://"+s.http+"/v1/jobs", j, nil)
			if err == nil && (a.status == http.StatusCreated || (attempt > 0 && a.code == "already_exists")) {
				out = append(out, FiringJob{Key: j.Key(), Created: time.Now(), Period: time.Second, Retries: j.Retries.Max})
				break
			}
			if attempt > 40 || !pause(ctx, 250*time.Millisecond) {
				return nil, fmt.Errorf("create firing job %s: status %d %s %v", j.Key(), a.status, a.code, err)
			}
		}
	}
	return out, nil
}

// crudJob is the body of a CRUD job: it never fires.
func crudJob(key, value string) *api.Job {
	return &api.Job{
		Group: crudGroup, Name: key, Description: value,
		Trigger:     scheduler.Spec{Kind: scheduler.KindCron, Cron: "0 0 0 1 1 ? 2099"},
		Executor:    api.Executor{Kind: api.ExecutorProcess, Command: "true"},
		ClientGroup: clientGroup,
	}
}

// crudKey names key i of an epoch. The workers move to fresh keys every
// keyEpoch: a write whose outcome is unknown stays concurrent with every
// later operation on its key, and porcupine's search grows with how many
// such writes one key has.
func crudKey(epoch, i int) string { return fmt.Sprintf("k-%03d-%02d", epoch, i) }

// keyEpochAt is the key epoch of instant ns of the recorder.
func keyEpochAt(ns int64) int { return int(ns / int64(keyEpoch)) }

// usedKeys lists every key the history names.
func usedKeys(ops []Op) []string {
	seen := map[string]bool{}
	var out []string
	for _, op := range ops {
		if !seen[op.Key] {
			seen[op.Key] = true
			out = append(out, op.Key)
		}
	}
	return out
}

// runCRUD runs one CRUD worker until ctx ends: random operations on
// random keys of the current epoch through random servers, each recorded
// with its call and return instants.
func runCRUD(ctx context.Context, c *cluster, rec *recorder, worker, keys int, rng *rand.Rand) {
	seq := 0
	for ctx.Err() == nil {
		seq++
		key := crudKey(keyEpochAt(rec.now()), rng.IntN(keys))
		s := c.servers[rng.IntN(len(c.servers))]
		var kind OpKind
		switch p := rng.IntN(100); {
		case p < 40:
			kind = OpGet
		case p < 60:
			kind = OpCreate
		case p < 85:
			kind = OpUpdate
		default:
			kind = OpDelete
		}
		rec.add(crudOp(c.hc, rec, s, worker, key, kind, fmt.Sprintf("w%d-%d", worker, seq)))
		pause(ctx, crudPause)
	}
}

// crudOp sends one operation to one server and classifies its answer.
func crudOp(hc *http.Client, rec *recorder, s *server, worker int, key string, kind OpKind, value string) Op {
	op := Op{Worker: worker, Key: key, Kind: kind, Server: s.id}
	base := "http://" + s.http + "/v1/jobs"
	item := base + "/" + crudGroup + "/" + url.PathEscape(key)
	var a answer
	var err error
	var got api.Job
	op.Call = rec.now()
	switch kind {
	case OpCreate:
		op.Value = value
		a, err = doJSON(hc, http.MethodPost, base, crudJob(key, value), nil)
	case OpUpdate:
		op.Value = value
		a, err = doJSON(hc, http.MethodPut, item, crudJob(key, value), nil)
	case OpDelete:
		a, err = doJSON(hc, http.MethodDelete, item, nil, nil)
	case OpGet:
		a, err = doJSON(hc, http.MethodGet, item, nil, &got)
	}
	op.Return = rec.now()
	op.Outcome = classify(kind, a, err)
	if err != nil {
		op.Detail = err.Error()
	} else if a.code != "" {
		op.Detail = fmt.Sprintf("%d %s", a.status, a.code)
	}
	if kind == OpGet && op.Outcome == OutOK {
		op.Value = got.Description
	}
	return op
}

// classify maps an answer to what the caller learned. Anything that does
// not prove the request was refused or applied is unknown; a request that
// could not even connect reached no server and applied nothing.
func classify(kind OpKind, a answer, err error) Outcome {
	var op *net.OpError
	switch {
	case err != nil && errors.As(err, &op) && op.Op == "dial":
		return OutRejected
	case err != nil:
		return OutUnknown
	case a.status >= 200 && a.status <= 299:
		return OutOK
	case a.code == "already_exists" && kind == OpCreate:
		return OutExists
	case a.code == "not_found" && kind != OpCreate:
		return OutNotFound
	case a.status >= 500 || a.status == http.StatusRequestTimeout || a.status == http.StatusTooManyRequests:
		return OutUnknown
	}
	return OutRejected
}

// finalReads reads every key after healing, retrying each until the
// answer is definite, and records the reads as operations of worker.
func finalReads(ctx context.Context, c *cluster, rec *recorder, worker int, keys []string) (map[string]FinalRead, error) {
	out := map[string]FinalRead{}
	for _, key := range keys {
		for attempt := 0; ; attempt++ {
			op := crudOp(c.hc, rec, c.servers[attempt%len(c.servers)], worker, key, OpGet, "")
			if op.Outcome == OutOK || op.Outcome == OutNotFound {
				rec.add(op)
				out[key] = FinalRead{Exists: op.Outcome == OutOK, Value: op.Value}
				break
			}
			if attempt > 120 || !pause(ctx, 500*time.Millisecond) {
				return out, fmt.Errorf("final read of %s: %s", key, op.Detail)
			}
		}
	}
	return out, nil
}

// execLog keeps the latest record of every execution the poller saw.
type execLog struct {
	mu    sync.Mutex
	byID  map[string]api.Execution
	polls int
	fails int
}

func newExecLog() *execLog { return &execLog{byID: map[string]api.Execution{}} }

// TODO: a job keeps only its last 100 executions, so a slot whose record
// was dropped before a poll saw it is reported "no execution record seen";
// an executions query by scheduled time would close that gap.

// pollOnce reads the newest executions of every firing job, several jobs
// at once and each with a short bound: a job keeps only its last 100
// executions, so a pass that a hung server slowed down would lose records.
func (l *execLog) pollOnce(ctx context.Context, rc *api.RESTClient, jobs []FiringJob) {
	sem := make(chan struct{}, execPollParallel)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			l.pollJob(ctx, rc, j)
		})
	}
	wg.Wait()
}

func (l *execLog) pollJob(ctx context.Context, rc *api.RESTClient, j FiringJob) {
	ctx, cancel := context.WithTimeout(ctx, execPollTimeout)
	defer cancel()
	name := j.Key[len(fireGroup)+1:]
	list, err := rc.ListExecutions(ctx, fireGroup, name, api.ListOptions{Limit: execPollLimit})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.polls++
	if err != nil {
		l.fails++
		return
	}
	for _, e := range list.Executions {
		l.byID[e.ID] = e
	}
}

// run polls every execPollEvery until ctx ends.
func (l *execLog) run(ctx context.Context, rc *api.RESTClient, jobs []FiringJob) {
	for {
		l.pollOnce(ctx, rc, jobs)
		if !pause(ctx, execPollEvery) {
			return
		}
	}
}

func (l *execLog) all() []api.Execution {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]api.Execution, 0, len(l.byID))
	for _, e := range l.byID {
		out = append(out, e)
	}
	return out
}

// pause waits d, or less if ctx ends first; it reports whether ctx is
// still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
