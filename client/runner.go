package client

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// Reasons an Ack refuses a fire.
const (
	reasonCapacity       = "capacity"        // the client is full
	reasonNotAllowed     = "not_allowed"     // AllowExec refuses the command
	reasonUnknownHandler = "unknown_handler" // no handler of that name
	reasonDraining       = "draining"        // the client is stopping
	reasonInvalid        = "invalid"         // the fire lacks what the client needs to run it
	reasonUnavailable    = "unavailable"     // a local failure (journal, disk) kept it from starting
)

// pollInterval is how often a run's supervisor streams its log lines and
// looks for the end of a shim run.
const pollInterval = 100 * time.Millisecond

// recentRuns bounds the set of ended runs a re-sent fire is checked
// against, beyond the unconfirmed results.
const recentRuns = 4096

// runner starts fires, supervises them and keeps their results until they
// are confirmed. It knows nothing of connections: the WebSocket session
// (and later other transports, such as a Kafka consumer) hand it fires and
// take its results and log lines.
type runner struct {
	cfg      Config
	log      *slog.Logger
	handlers map[string]Handler
	journal  *journal // nil without DataDir
	runsDir  string   // "" without DataDir
	shim     []string
	baseEnv  []string

	// emitLog takes a run's streamed lines; it must not block.
	emitLog func(protocol.Log)

	// notify has a value when results wait to be sent.
	notify chan struct{}

	// abandonCh closes when the client goes away without reporting (tests
	// simulate a crash with it).
	abandonCh   chan struct{}
	abandonOnce sync.Once

	// wg tracks the supervisors.
	wg sync.WaitGroup

	mu       sync.Mutex
	runs     map[runKey]*run
	results  map[runKey]protocol.Result // ended, not yet confirmed
	recent   recentSet[recentRun]
	refused  recentSet[string] // refused fires -> why: a later copy gets the same answer
	draining bool
	changed  chan struct{} // closed and replaced when runs or results change
}

// run is one started fire.
type run struct {
	key       runKey
	fire      protocol.Fire
	startedAt time.Time
	pid       int
	out       *output
	proc      proc
	kills     chan error // the cause of a kill request
}

func newRunner(cfg Config, handlers map[string]Handler, j *journal, emitLog func(protocol.Log)) (*runner, error) {
	r := &runner{
		cfg:       cfg,
		log:       cfg.Logger,
		handlers:  handlers,
		journal:   j,
		baseEnv:   os.Environ(),
		emitLog:   emitLog,
		notify:    make(chan struct{}, 1),
		abandonCh: make(chan struct{}),
		runs:      map[runKey]*run{},
		results:   map[runKey]protocol.Result{},
		recent:    newRecentSet[recentRun](recentRuns),
		refused:   newRecentSet[string](recentRuns),
		changed:   make(chan struct{}),
	}
	if j == nil {
		return r, nil
	}

	shim, err := cfg.shimCommand()
	if err != nil {
		return nil, err
	}
	r.shim = shim
	// Absolute: the shim starts in the job's working directory.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	r.runsDir = filepath.Join(dataDir, "runs")
	if err := os.MkdirAll(r.runsDir, 0o700); err != nil {
		return nil, fmt.Errorf("create runs dir: %w", err)
	}
	return r, nil
}

// start runs a fire, or says why not. A fire seen before (running, ended
// and unconfirmed, or among the recent runs) is acknowledged again and not
// run twice. A fire refused before is refused again, whatever changed
// since: the server may have sent it to another worker on the first
// refusal, and a copy still in flight (re-sent by a leader that had not
// heard) must not run it here as well.
func (r *runner) start(f protocol.Fire) protocol.Ack { return r.offer(f, true) }

// offer runs a fire, or says why not; final says whether a refusal is
// remembered (start). A kafka record is this worker's alone and is
// offered again when there is room, so its refusals are not final.
func (r *runner) offer(f protocol.Fire, final bool) protocol.Ack {
	key := runKey{f.ExecID, f.Attempt}
	ack := protocol.Ack{ExecID: f.ExecID, Attempt: f.Attempt}

	r.mu.Lock()
	defer r.mu.Unlock()

	if prev, ok := r.seenLocked(key); ok {
		r.log.Debug("duplicate fire", "exec_id", f.ExecID, "attempt", f.Attempt)
		ack.Accepted, ack.StartedAt, ack.PID = true, prev.startedAt, prev.pid
		return ack
	}
	if reason, ok := r.refused.get(key); ok {
		r.log.Debug("fire refused again", "exec_id", f.ExecID, "attempt", f.Attempt, "reason", reason)
		ack.Reason = reason
		return ack
	}
	if reason := r.refusalLocked(&f); reason != "" {
		r.log.Info("fire refused", "exec_id", f.ExecID, "attempt", f.Attempt, "reason", reason)
		if final {
			r.refuseLocked(key, reason)
		}
		ack.Reason = reason
		return ack
	}
	ru, err := r.launchLocked(f)
	if err != nil {
		r.log.Error("fire not started", "exec_id", f.ExecID, "attempt", f.Attempt, "error", err)
		if final {
			r.refuseLocked(key, reasonUnavailable)
		}
		ack.Reason = reasonUnavailable
		return ack
	}
	ack.Accepted, ack.StartedAt, ack.PID = true, ru.startedAt, ru.pid
	return ack
}

// refuseLocked makes a refusal final: remembered, and journalled before
// the refusal is sent, so a restart does not forget it. A journal that
// cannot be written leaves it remembered until the worker stops.
func (r *runner) refuseLocked(k runKey, reason string) {
	r.refused.add(k, reason)
	if r.journal == nil {
		return
	}
	if err := r.journal.refuse(k, reason, time.Now()); err != nil {
		r.log.Error("refusal not journalled", "exec_id", k.execID, "attempt", k.attempt, "error", err)
	}
}

// seenLocked finds a run by key among the running, unconfirmed and recent.
func (r *runner) seenLocked(k runKey) (recentRun, bool) {
	if ru, ok := r.runs[k]; ok {
		return recentRun{startedAt: ru.startedAt, pid: ru.pid}, true
	}
	if res, ok := r.results[k]; ok {
		return recentRun{startedAt: res.StartedAt}, true
	}
	return r.recent.get(k)
}

// refusalLocked returns why a new fire cannot run, or "". Lasting reasons
// come before capacity, so a server does not retry a hopeless fire here.
func (r *runner) refusalLocked(f *protocol.Fire) string {
	if r.draining {
		return reasonDraining
	}
	if f.ExecID == "" || f.Attempt < 0 {
		return reasonInvalid
	}
	switch f.Executor.Kind {
	case api.ExecutorProcess, "":
		if f.Executor.Command == "" {
			return reasonInvalid
		}
		if !allowed(r.cfg.AllowExec, f.Executor.Command) {
			return reasonNotAllowed
		}
	case api.ExecutorHandler:
		if _, ok := r.handlers[f.Executor.Name]; !ok {
			return reasonUnknownHandler
		}
	default:
		return reasonInvalid
	}
	if len(r.runs) >= r.cfg.Capacity {
		return reasonCapacity
	}
	return ""
}

// launchLocked starts a fire and its supervisor. An error means nothing
// started; a command that cannot start is a run that failed at once.
func (r *runner) launchLocked(f protocol.Fire) (*run, error) {
	ru := &run{
		key:       runKey{f.ExecID, f.Attempt},
		fire:      f,
		startedAt: nowUTC(),
		out:       r.newOutput(),
		kills:     make(chan error, 1),
	}

	var startErr error
	if f.Executor.Kind == api.ExecutorHandler {
		if err := r.journalRun(ru, kindHandler, ""); err != nil {
			return nil, err
		}
		fire := newFire(&f, ru.out)
		ru.proc = startHandler(r.handlers[f.Executor.Name], fire, fireTimeout(&f))
	} else {
		var err error
		ru.proc, startErr, err = r.startProcess(ru)
		if err != nil {
			return nil, err
		}
	}

	r.runs[ru.key] = ru
	r.changedLocked()
	if startErr != nil {
		r.log.Info("run could not start", "exec_id", f.ExecID, "attempt", f.Attempt, "error", startErr)
		ru.proc = failedProc(outcome{err: "start: " + startErr.Error()})
	}
	ru.pid = ru.proc.pid()
	r.log.Info("run started", "exec_id", f.ExecID, "attempt", f.Attempt, "job", f.Job, "pid", ru.pid)
	r.wg.Add(1)
	go r.supervise(ru)
	return ru, nil
}

// startProcess starts a process run, under the shim with a DataDir. It
// returns the proc, or the command's start error; err is a local failure.
func (r *runner) startProcess(ru *run) (p proc, startErr, err error) {
	env := fireEnv(r.baseEnv, &ru.fire)
	if r.journal == nil {
		d, startErr := startDirect(ru.fire.Executor, env, ru.out)
		if startErr != nil {
			return nil, startErr, nil
		}
		return d, nil, nil
	}

	dir := filepath.Join(r.runsDir, runDirName(ru.key))
	if err := os.RemoveAll(dir); err != nil {
		return nil, nil, fmt.Errorf("clear run dir: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create run dir: %w", err)
	}
	// Journal first: a process never runs without a record of it.
	if err := r.journalRun(ru, kindProcess, dir); err != nil {
		return nil, nil, err
	}

	argv := append(append(slices.Clone(r.shim), dir, "--"), commandArgv(ru.fire.Executor)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = ru.fire.Executor.Dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err, nil
	}

	pid := cmd.Process.Pid
	start := processStart(pid)
	rec := runRecord{Fire: ru.fire, Kind: kindProcess, PID: pid, ProcStart: start, StartedAt: ru.startedAt, RunDir: dir}
	if err := r.journal.putRun(rec); err != nil {
		// The shim's pid file still names it after a restart.
		r.log.Warn("journal pid failed", "exec_id", ru.key.execID, "error", err)
	}
	return newShimProc(dir, pid, start, cmd, ru.out), nil, nil
}

func (r *runner) journalRun(ru *run, kind, dir string) error {
	if r.journal == nil {
		return nil
	}
	return r.journal.putRun(runRecord{Fire: ru.fire, Kind: kind, StartedAt: ru.startedAt, RunDir: dir})
}

func (r *runner) newOutput() *output {
	return newOutput(r.cfg.OutputTailBytes, r.cfg.LogLineBytes, r.cfg.LogLinesPerSecond)
}

func fireTimeout(f *protocol.Fire) time.Duration {
	return time.Duration(f.TimeoutMS) * time.Millisecond
}

// supervise watches one run from start to result: it streams its log
// lines, enforces the timeout, carries out kills, and records the result.
func (r *runner) supervise(ru *run) {
	defer r.wg.Done()

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()

	var deadline, grace <-chan time.Time
	if d := fireTimeout(&ru.fire); d > 0 {
		deadline = time.After(time.Until(ru.startedAt.Add(d)))
	}
	var cause error
	stop := func(c error) {
		if cause != nil {
			return // the first cause stands; its grace runs already
		}
		cause = c
		ru.proc.terminate(c)
		grace = time.After(r.cfg.KillGrace)
	}

	for {
		select {
		case <-ru.proc.done():
			r.complete(ru, cause)
			return
		case <-tick.C:
			ru.proc.poll()
			r.streamLogs(ru, false)
		case c := <-ru.kills:
			stop(c)
		case <-deadline:
			stop(fmt.Errorf("%w after %s", ErrTimedOut, fireTimeout(&ru.fire)))
		case <-grace:
			r.log.Warn("run did not stop in grace, killing", "exec_id", ru.key.execID, "pid", ru.pid)
			ru.proc.forceKill()
			grace = nil
		case <-r.abandonCh:
			ru.proc.abandon()
			return
		}
	}
}

// complete records the result of an ended run.
func (r *runner) complete(ru *run, cause error) {
	oc := ru.proc.outcome()
	if cause == nil {
		cause = oc.cause
	}
	if cause != nil {
		// A kill ends the whole tree: children that outlived the leader too.
		ru.proc.forceKill()
	}
	r.streamLogs(ru, true)
	res := newResult(ru.key, ru.startedAt, ru.out.tailString(), oc, cause)
	r.finish(res, ru.pid)
}

func (r *runner) streamLogs(ru *run, final bool) {
	lines := ru.out.lines(time.Now(), final)
	if len(lines) == 0 {
		return
	}
	r.emitLog(protocol.Log{ExecID: ru.key.execID, Attempt: ru.key.attempt, Lines: lines})
}

// newResult judges how a run ended. A kill cause decides the state over
// the exit code: the process ended because it was killed.
func newResult(k runKey, started time.Time, tail string, oc outcome, cause error) protocol.Result {
	res := protocol.Result{
		ExecID:     k.execID,
		Attempt:    k.attempt,
		ExitCode:   oc.exitCode,
		Output:     tail,
		StartedAt:  started,
		FinishedAt: nowUTC(),
	}
	switch {
	case errors.Is(cause, ErrDrained):
		res.State, res.Error = api.ExecLost, cause.Error()
	case errors.Is(cause, ErrTimedOut):
		res.State, res.Error = api.ExecTimedOut, cause.Error()
	case cause != nil:
		res.State, res.Error = api.ExecKilled, cause.Error()
	case oc.err != "":
		res.State, res.Error = api.ExecFailed, oc.err
	case oc.signal != "":
		res.State, res.Error = api.ExecFailed, "terminated by signal: "+oc.signal
	case oc.exitCode != nil && *oc.exitCode != 0:
		res.State, res.Error = api.ExecFailed, exitText(*oc.exitCode)
	default:
		res.State = api.ExecSucceeded
	}
	return res
}

// finish replaces a run by its result, journalled first.
func (r *runner) finish(res protocol.Result, pid int) {
	k := runKey{res.ExecID, res.Attempt}

	r.mu.Lock()
	if r.journal != nil {
		if err := r.journal.finish(res); err != nil {
			// Kept in memory and sent; only a crash before the server
			// confirms it loses it.
			r.log.Error("journal result failed", "exec_id", res.ExecID, "attempt", res.Attempt, "error", err)
		}
	}
	delete(r.runs, k)
	r.results[k] = res
	r.recent.add(k, recentRun{startedAt: res.StartedAt, pid: pid})
	r.changedLocked()
	r.mu.Unlock()

	r.log.Info("run finished", "exec_id", res.ExecID, "attempt", res.Attempt, "state", res.State, "exit_code", exitCodeAttr(res.ExitCode))
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func exitCodeAttr(code *int) any {
	if code == nil {
		return nil
	}
	return *code
}

// kill asks every run of execID to stop; reason is the server's.
func (r *runner) kill(execID, reason string) bool {
	cause := ErrKilled
	switch reason {
	case "", api.ExecKilled:
	case api.ExecTimedOut:
		cause = ErrTimedOut
	default:
		cause = fmt.Errorf("%w: %s", ErrKilled, reason)
	}
	return r.killWhere(func(ru *run) bool { return ru.key.execID == execID }, cause)
}

func (r *runner) killWhere(match func(*run) bool, cause error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()

	found := false
	for _, ru := range r.runs {
		if !match(ru) {
			continue
		}
		found = true
		select {
		case ru.kills <- cause:
		default: // a kill is pending already
		}
	}
	return found
}

// confirm forgets a result the server recorded, and its run directory.
func (r *runner) confirm(k runKey) {
	r.mu.Lock()
	res, ok := r.results[k]
	delete(r.results, k)
	r.changedLocked()
	r.mu.Unlock()
	if !ok {
		return
	}

	if r.journal != nil {
		if err := r.journal.confirm(k, res.StartedAt); err != nil {
			r.log.Warn("journal confirm failed", "exec_id", k.execID, "error", err)
		}
	}
	if r.runsDir != "" {
		if err := os.RemoveAll(filepath.Join(r.runsDir, runDirName(k))); err != nil {
			r.log.Warn("remove run dir failed", "exec_id", k.execID, "error", err)
		}
	}
}

// unconfirmed returns the results waiting for confirmation, oldest first.
func (r *runner) unconfirmed() []protocol.Result {
	r.mu.Lock()
	defer r.mu.Unlock()

	out := make([]protocol.Result, 0, len(r.results))
	for _, res := range r.results {
		out = append(out, res)
	}
	slices.SortFunc(out, func(a, b protocol.Result) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), cmp.Compare(a.ExecID, b.ExecID), cmp.Compare(a.Attempt, b.Attempt))
	})
	return out
}

// running lists the runs for a hello.
func (r *runner) running() []protocol.Running {
	r.mu.Lock()
	defer r.mu.Unlock()

	out := make([]protocol.Running, 0, len(r.runs))
	for _, ru := range r.runs {
		out = append(out, protocol.Running{ExecID: ru.key.execID, Attempt: ru.key.attempt, PID: ru.pid, StartedAt: ru.startedAt})
	}
	slices.SortFunc(out, func(a, b protocol.Running) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ExecID, b.ExecID))
	})
	return out
}

func (r *runner) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

// setDraining makes every new fire refused with reason "draining".
func (r *runner) setDraining() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.draining = true
}

// handBack kills every run with cause ErrDrained; their results say
// "lost", so the server may run them elsewhere. It returns how many.
func (r *runner) handBack() int {
	r.mu.Lock()
	n := len(r.runs)
	r.mu.Unlock()
	r.killWhere(func(*run) bool { return true }, ErrDrained)
	return n
}

// waitUntil waits until cond (called with r.mu held) holds, or until
// timeout. It reports whether cond holds.
func (r *runner) waitUntil(timeout time.Duration, cond func() bool) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		r.mu.Lock()
		ok, ch := cond(), r.changed
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return false
		}
	}
}

func (r *runner) idleLocked() bool      { return len(r.runs) == 0 }
func (r *runner) confirmedLocked() bool { return len(r.results) == 0 }

func (r *runner) changedLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// abandon stops every supervisor without a result and without ending the
// shim runs: what a crash would do. Only tests call it.
func (r *runner) abandon() {
	r.abandonOnce.Do(func() { close(r.abandonCh) })
	r.wg.Wait()
}

// wait waits for every supervisor to return.
func (r *runner) wait() { r.wg.Wait() }

// recentRun is what a duplicate fire's ack repeats.
type recentRun struct {
	startedAt time.Time
	pid       int
}

// recentSet remembers the last n fires it was given, oldest forgotten
// first.
type recentSet[V any] struct {
	m    map[runKey]V
	ring []runKey
	next int
}

func newRecentSet[V any](n int) recentSet[V] {
	return recentSet[V]{m: make(map[runKey]V, n), ring: make([]runKey, n)}
}

func (s *recentSet[V]) add(k runKey, v V) {
	if _, ok := s.m[k]; ok {
		s.m[k] = v
		return
	}
	if old := s.ring[s.next]; old != (runKey{}) {
		delete(s.m, old)
	}
	s.ring[s.next] = k
	s.next = (s.next + 1) % len(s.ring)
	s.m[k] = v
}

func (s *recentSet[V]) get(k runKey) (V, bool) {
	v, ok := s.m[k]
	return v, ok
}

// failedProc is a run that ended before it began.
func failedProc(oc outcome) proc {
	ch := make(chan struct{})
	close(ch)
	return &endedProc{oc: oc, doneCh: ch}
}

type endedProc struct {
	oc     outcome
	doneCh chan struct{}
}

func (e *endedProc) pid() int              { return 0 }
func (e *endedProc) poll()                 {}
func (e *endedProc) done() <-chan struct{} { return e.doneCh }
func (e *endedProc) terminate(error)       {}
func (e *endedProc) forceKill()            {}
func (e *endedProc) outcome() outcome      { return e.oc }
func (e *endedProc) abandon()              {}

func nowUTC() time.Time { return time.Now().UTC() }
