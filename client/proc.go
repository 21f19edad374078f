package client

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/swarmsched/swarm/api"
)

// proc is one started run as its supervisor sees it. Every method but
// done is called from the supervisor goroutine only.
type proc interface {
	// pid is the process group leader (the client's own pid for a handler).
	pid() int
	// poll moves output along and notices an end that nobody signals.
	poll()
	// done is closed when the run ended.
	done() <-chan struct{}
	// terminate asks the run to stop: SIGTERM to the group, or cancelling
	// a handler's context with cause.
	terminate(cause error)
	// forceKill ends the run: SIGKILL to the group, or giving up waiting
	// for a handler.
	forceKill()
	// outcome is how the run ended; valid once done is closed.
	outcome() outcome
	// abandon lets go of the run without ending it where it can outlive
	// the client (a shim), and ends it otherwise.
	abandon()
}

// outcome is how a run ended, before kill causes are taken into account.
type outcome struct {
	exitCode *int
	signal   string // the signal that ended the command, if one did
	err      string // why it failed beyond its exit code
	cause    error  // a stop the run noticed itself: a handler's own deadline
}

func outcomeOf(st exitStatus) outcome {
	return outcome{exitCode: st.ExitCode, signal: st.Signal, err: st.Error}
}

// directProc is a process started by the client itself (no DataDir): it
// dies with the client.
type directProc struct {
	p      *piped
	doneCh chan struct{}
	st     exitStatus
}

func startDirect(e api.Executor, env []string, out *output) (*directProc, error) {
	argv := commandArgv(e)
	path, err := lookPath(argv[0], env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Dir: e.Dir, Env: env}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p, err := startPiped(cmd, liveLines(out, streamStdout), liveLines(out, streamStderr))
	if err != nil {
		return nil, err
	}

	d := &directProc{p: p, doneCh: make(chan struct{})}
	go func() {
		err := p.wait()
		d.st = statusOf(cmd.ProcessState, err)
		close(d.doneCh)
	}()
	return d, nil
}

// lookPath finds a command without a slash in the PATH of env (the job's
// environment), as the shim does in its own environment; exec.LookPath
// would search the client's. Relative PATH entries are skipped, as Go's
// exec refuses them too.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in exec.Cmd
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
}

// liveLines adds each line to out as streamed output, stamped now.
func liveLines(out *output, stream string) func(string) {
	return func(line string) { out.add(stream, line, time.Now(), true) }
}

func (d *directProc) pid() int              { return d.p.cmd.Process.Pid }
func (d *directProc) poll()                 {}
func (d *directProc) done() <-chan struct{} { return d.doneCh }
func (d *directProc) terminate(error)       { signalGroup(d.pid(), syscall.SIGTERM) }
func (d *directProc) forceKill()            { signalGroup(d.pid(), syscall.SIGKILL) }
func (d *directProc) outcome() outcome      { return outcomeOf(d.st) }

func (d *directProc) abandon() {
	d.forceKill() // nobody could take it back
	<-d.doneCh
}

// shimProc is a process run under the exec shim. The client may or may
// not be its parent (cmd is nil for a run taken back after a restart), so
// it learns of the end by polling: the exit file, or the shim gone.
type shimProc struct {
	dir   string
	pidv  int
	start uint64
	cmd   *exec.Cmd
	out   *output

	f       *os.File // the output file, once it exists
	buf     []byte   // read buffer
	partial []byte   // an incomplete record at the end of what was read
	ready   bool     // the shim wrote its pid file: the command runs
	termDue bool     // a SIGTERM waits for the shim to be ready
	doneCh  chan struct{}
	oc      outcome
}

func newShimProc(dir string, pid int, start uint64, cmd *exec.Cmd, out *output) *shimProc {
	return &shimProc{dir: dir, pidv: pid, start: start, cmd: cmd, out: out, buf: make([]byte, 32<<10), doneCh: make(chan struct{})}
}

func (s *shimProc) pid() int              { return s.pidv }
func (s *shimProc) done() <-chan struct{} { return s.doneCh }
func (s *shimProc) forceKill()            { signalGroup(s.pidv, syscall.SIGKILL) }
func (s *shimProc) outcome() outcome      { return s.oc }

// terminate sends SIGTERM to the group once the command runs: earlier, it
// could kill a shim that has not installed its handler yet (no exit
// status then), or reach the shim only, which would start the command
// after it. Until then poll delivers it.
func (s *shimProc) terminate(error) {
	if !s.isReady() {
		s.termDue = true
		return
	}
	signalGroup(s.pidv, syscall.SIGTERM)
}

func (s *shimProc) isReady() bool {
	if !s.ready {
		_, err := os.Stat(filepath.Join(s.dir, pidFile))
		s.ready = err == nil
	}
	return s.ready
}

func (s *shimProc) abandon() {
	if s.f != nil {
		s.f.Close()
	}
}

func (s *shimProc) poll() {
	if s.ended() {
		return
	}
	if s.termDue && s.isReady() {
		s.termDue = false
		signalGroup(s.pidv, syscall.SIGTERM)
	}
	s.readOutput(true)

	st, ok, err := readExitStatus(s.dir)
	if !ok && err == nil && processAlive(s.pidv, s.start) {
		return
	}
	if !ok && err == nil {
		st, ok, err = readExitStatus(s.dir) // it may have written it just before it ended
	}
	s.readOutput(true)
	s.reap()
	switch {
	case err != nil:
		s.oc = outcome{err: err.Error()}
	case !ok:
		s.oc = outcome{err: "exec shim ended without an exit status"}
	default:
		s.oc = outcomeOf(st)
	}
	if s.f != nil {
		s.f.Close()
	}
	close(s.doneCh)
}

func (s *shimProc) ended() bool {
	select {
	case <-s.doneCh:
		return true
	default:
		return false
	}
}

// reap collects the shim's exit status when the client is its parent, so
// it does not stay a zombie.
func (s *shimProc) reap() {
	if s.cmd != nil {
		_ = s.cmd.Wait() // the shim has ended or is about to; its status is in the exit file
		return
	}
	reapIfChild(s.pidv)
}

// reapIfChild reaps pid if it is an ended child of this process (a run
// started by an earlier Client in the same process). Not a child: ECHILD.
func reapIfChild(pid int) {
	if pid <= 0 {
		return
	}
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
}

// readOutput adds the records written since the last read to out.
func (s *shimProc) readOutput(live bool) {
	if s.f == nil && !s.open(0) {
		return
	}
	s.partial = readRecords(s.f, s.buf, s.partial, s.out, live)
}

// open opens the output file, positioned window bytes before its end (0:
// at the start). It reports false when the file does not exist yet.
func (s *shimProc) open(window int64) bool {
	f, err := os.Open(filepath.Join(s.dir, outputFile))
	if err != nil {
		return false
	}
	s.f = f
	if window <= 0 {
		return true
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() <= window {
		return true
	}
	if _, err := f.Seek(fi.Size()-window, io.SeekStart); err != nil {
		return true
	}
	// Skip the record the seek landed in.
	s.partial = readRecords(f, s.buf, nil, nil, false)
	return true
}

// catchUp reads the output written while no client watched into the tail
// only, reading no more than the tail can keep.
func (s *shimProc) catchUp() {
	window := int64(2*s.out.tailMax + maxRawLine)
	if s.f == nil && !s.open(window) {
		return
	}
	s.partial = readRecords(s.f, s.buf, s.partial, s.out, false)
}

// readRecords reads f to its end, adds each complete record to out (nil
// out: discards the first record, used to resynchronise after a seek) and
// returns the incomplete rest.
func readRecords(f *os.File, buf, partial []byte, out *output, live bool) []byte {
	skipFirst := out == nil
	for {
		n, err := f.Read(buf)
		partial = append(partial, buf[:n]...)
		for {
			i := bytes.IndexByte(partial, '\n')
			if i < 0 {
				break
			}
			rec := partial[:i]
			partial = partial[i+1:]
			if skipFirst {
				return partial
			}
			if stream, t, text, ok := parseRecord(rec); ok {
				out.add(stream, text, t, live)
			}
		}
		if err != nil || n == 0 {
			return bytes.Clone(partial)
		}
	}
}

// handlerProc is a Handler running in a goroutine of the client.
type handlerProc struct {
	cancel func(cause error)
	doneCh chan struct{}
	once   sync.Once
	oc     outcome
}

func (h *handlerProc) pid() int              { return os.Getpid() }
func (h *handlerProc) poll()                 {}
func (h *handlerProc) done() <-chan struct{} { return h.doneCh }
func (h *handlerProc) terminate(cause error) { h.cancel(cause) }
func (h *handlerProc) outcome() outcome      { return h.oc }
func (h *handlerProc) finish(oc outcome)     { h.once.Do(func() { h.oc = oc; close(h.doneCh) }) }
func (h *handlerProc) forceKill()            { h.finish(outcome{err: errHandlerStuck.Error()}) }

// abandon cancels the handler and waits for it, as a crash would end it.
func (h *handlerProc) abandon() {
	h.cancel(ErrDrained)
	<-h.doneCh
}

// errHandlerStuck is the error of a handler that ignored its cancelled
// context for the whole kill grace. Its goroutine is left running.
var errHandlerStuck = errors.New("handler did not return after its context was cancelled")

// panicError is a recovered handler panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// runDirName names a run's directory: readable, and unique per run key
// even when execution ids hold characters a file name cannot.
func runDirName(k runKey) string {
	b := []byte(k.execID)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 80 {
		b = b[:80]
	}
	h := fnv.New32a()
	h.Write(k.bytes())
	return fmt.Sprintf("%s-%d-%08x", b, k.attempt, h.Sum32())
}

// exitText is the error text of a non-zero exit.
func exitText(code int) string { return "exit status " + strconv.Itoa(code) }
