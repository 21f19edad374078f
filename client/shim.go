package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ShimArg is the first argument that makes this program the exec shim
// (see RunShimIfRequested).
const ShimArg = "exec-shim"

// Files of a run directory. The shim writes them; the client reads them.
const (
	outputFile = "output"    // output records, see writeRecord
	pidFile    = "pid"       // "<pid> <start>\n" of the shim, once the command started
	exitFile   = "exit.json" // exitStatus, written atomically when the command ended
)

// pipeDrainDelay is how long output is still read after the command
// exited, for background children that hold its stdout or stderr.
const pipeDrainDelay = 2 * time.Second

// exitStatus is how a command ended, as the shim recorded it.
type exitStatus struct {
	ExitCode   *int      `json:"exit_code,omitempty"`
	Signal     string    `json:"signal,omitempty"`
	Error      string    `json:"error,omitempty"` // the command could not start
	FinishedAt time.Time `json:"finished_at"`
}

// RunShimIfRequested runs the exec shim and exits if this program was
// started as one (os.Args[1] == ShimArg); otherwise it returns at once.
// A program that runs a Client with a DataDir calls it first thing in
// main, before flags are parsed:
//
//	func main() {
//		client.RunShimIfRequested()
//		...
//	}
func RunShimIfRequested() {
	if len(os.Args) > 1 && os.Args[1] == ShimArg {
		os.Exit(RunShim(os.Args[2:]))
	}
}

// RunShim is the exec shim: with args "RUN_DIR -- COMMAND [ARG...]" it
// starts the command (in its own working directory and environment, which
// the client set), writes the command's output as records to RUN_DIR/output,
// waits, and writes how the command ended to RUN_DIR/exit.json. The shim
// leads the run's process group and ignores SIGTERM, SIGINT and SIGHUP, so
// a polite kill of the group reaches the command while the shim stays to
// record the outcome; SIGKILL ends both. It returns the shim's exit code.
func RunShim(args []string) int {
	dir, argv, err := parseShimArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exec-shim:", err)
		return 2
	}

	// Catching (not ignoring) the signals: a caught signal is reset to its
	// default in the command at exec, an ignored one would stay ignored.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	st := runShimmed(dir, argv, sigs)
	if err := writeFileAtomic(filepath.Join(dir, exitFile), mustJSON(st)); err != nil {
		fmt.Fprintln(os.Stderr, "exec-shim:", err)
		return 1
	}
	return 0
}

func parseShimArgs(args []string) (string, []string, error) {
	if len(args) < 3 || args[1] != "--" || args[0] == "" || args[2] == "" {
		return "", nil, errors.New("usage: exec-shim RUN_DIR -- COMMAND [ARG...]")
	}
	return args[0], args[2:], nil
}

// runShimmed runs argv with its output recorded in dir and returns how
// it ended. The pid file, written once the command runs, tells the client
// that a SIGTERM to the group reaches the command and not only the shim;
// the client holds its SIGTERM back until then. A signal caught before the
// command started (sent by someone else) means it must not start.
func runShimmed(dir string, argv []string, sigs <-chan os.Signal) exitStatus {
	// TODO: the output file grows with everything the command writes; a
	// chatty long run can fill the disk of DataDir. Rotate it (the client
	// needs only what it has not read yet, plus a tail's worth).
	f, err := os.OpenFile(filepath.Join(dir, outputFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return exitStatus{Error: fmt.Sprintf("open output: %v", err), FinishedAt: time.Now().UTC()}
	}
	defer f.Close()

	select {
	case sig := <-sigs:
		return stoppedBeforeStart(sig.(syscall.Signal))
	default:
	}

	rw := &recordWriter{w: f}
	cmd := exec.Command(argv[0], argv[1:]...)
	p, err := startPiped(cmd, rw.lineFunc('o'), rw.lineFunc('e'))
	if err != nil {
		return exitStatus{Error: fmt.Sprintf("start: %v", err), FinishedAt: time.Now().UTC()}
	}

	pid := os.Getpid()
	if err := writeFileAtomic(filepath.Join(dir, pidFile), fmt.Appendf(nil, "%d %d\n", pid, processStart(pid))); err != nil {
		// The client kills with SIGKILL only, after its grace.
		fmt.Fprintln(os.Stderr, "exec-shim:", err)
	}
	waitErr := p.wait()
	return statusOf(cmd.ProcessState, waitErr)
}

// stoppedBeforeStart is the status of a command stopped by sig before
// the shim started it: as if sig had ended it.
func stoppedBeforeStart(sig syscall.Signal) exitStatus {
	code := 128 + int(sig)
	return exitStatus{ExitCode: &code, Signal: sig.String(), FinishedAt: time.Now().UTC()}
}

// statusOf turns a finished command's state into an exitStatus.
func statusOf(ps *os.ProcessState, waitErr error) exitStatus {
	st := exitStatus{FinishedAt: time.Now().UTC()}
	if ps == nil {
		st.Error = fmt.Sprintf("wait: %v", waitErr)
		return st
	}
	code := ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
		st.Signal = ws.Signal().String()
	}
	st.ExitCode = &code
	return st
}

// piped is a started command whose stdout and stderr are read as lines.
type piped struct {
	cmd        *exec.Cmd
	outR, errR *os.File
	readers    <-chan struct{}
}

// startPiped starts cmd with its output going through pipes to two
// reader goroutines. Call wait to end them.
func startPiped(cmd *exec.Cmd, stdout, stderr func(string)) (*piped, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close() // the command holds its own copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	readers := copyLines(map[*os.File]func(string){outR: stdout, errR: stderr})
	return &piped{cmd: cmd, outR: outR, errR: errR, readers: readers}, nil
}

// wait waits for the command, then for its output until the pipes close
// or pipeDrainDelay passed, and returns Wait's error.
func (p *piped) wait() error {
	err := p.cmd.Wait()
	finishReading(p.readers, p.outR, p.errR)
	return err
}

// copyLines reads each file into its line function; the returned channel
// closes when every reader ended.
func copyLines(files map[*os.File]func(string)) <-chan struct{} {
	var wg sync.WaitGroup
	for f, fn := range files {
		wg.Go(func() {
			lw := &lineWriter{fn: fn}
			_, _ = io.Copy(lw, f) // ends at EOF or when f is closed
			lw.flush()
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// finishReading waits for the readers to reach EOF, but no longer than
// pipeDrainDelay: a background child may hold a pipe open for ever.
func finishReading(readers <-chan struct{}, files ...*os.File) {
	t := time.NewTimer(pipeDrainDelay)
	defer t.Stop()
	select {
	case <-readers:
	case <-t.C:
	}
	for _, f := range files {
		f.Close() // unblocks a reader still in Read
	}
	<-readers
}

// recordWriter appends output records to the run's output file, one
// write(2) per record so that records never interleave:
//
//	<stream> <unix nanoseconds> <text>\n
//
// where stream is 'o' (stdout) or 'e' (stderr).
type recordWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *recordWriter) lineFunc(stream byte) func(string) {
	return func(text string) {
		rec := make([]byte, 0, len(text)+24)
		rec = append(rec, stream, ' ')
		rec = strconv.AppendInt(rec, time.Now().UnixNano(), 10)
		rec = append(rec, ' ')
		rec = append(rec, text...)
		rec = append(rec, '\n')

		r.mu.Lock()
		defer r.mu.Unlock()
		_, _ = r.w.Write(rec) // a full disk loses output, not the run
	}
}

// parseRecord reads one record (without its newline).
func parseRecord(rec []byte) (stream string, t time.Time, text string, ok bool) {
	if len(rec) < 4 || rec[1] != ' ' {
		return "", time.Time{}, "", false
	}
	switch rec[0] {
	case 'o':
		stream = streamStdout
	case 'e':
		stream = streamStderr
	default:
		return "", time.Time{}, "", false
	}
	rest := rec[2:]
	i := 0
	for i < len(rest) && rest[i] != ' ' {
		i++
	}
	ns, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil || i == len(rest) {
		return "", time.Time{}, "", false
	}
	return stream, time.Unix(0, ns).UTC(), string(rest[i+1:]), true
}

// writeFileAtomic writes a file that readers see whole or not at all, and
// that survives a machine crash once it returns.
func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	return syncDir(filepath.Dir(name))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // only plain structs reach here
	}
	return b
}

// readExitStatus reads a run directory's exit file; ok is false when the
// command has not ended (or the shim died before it could say).
func readExitStatus(dir string) (exitStatus, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, exitFile))
	if errors.Is(err, os.ErrNotExist) {
		return exitStatus{}, false, nil
	}
	if err != nil {
		return exitStatus{}, false, fmt.Errorf("read exit status: %w", err)
	}
	var st exitStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return exitStatus{}, false, fmt.Errorf("decode exit status: %w", err)
	}
	return st, true, nil
}

// readPIDFile reads the shim's pid file: the pid and its start time.
func readPIDFile(dir string) (int, uint64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, 0, false
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &start); err != nil {
		return 0, 0, false
	}
	return pid, start, true
}
