package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// restartDelay is how long a process that died on its own stays down
// before the supervisor starts it again.
const restartDelay = time.Second

// Exit is a process end the harness did not cause.
type Exit struct {
	Process string    `json:"process"`
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
}

// proc is one child process that the nemesis kills, pauses and restarts.
// A run that ends without the harness asking is recorded and restarted
// after restartDelay, so that a crash does not leave a quorum short.
type proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	gid     uint32 // run with this group id, for the firewall; 0 keeps the harness's
	logPath string
	log     *slog.Logger

	ctx context.Context // ends the supervision
	wg  *sync.WaitGroup // owner of the wait goroutines

	mu    sync.Mutex
	cur   *procRun // the latest run
	exits []Exit
}

// procRun is one start of a proc.
type procRun struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the run has exited
	intended bool          // its end was asked for (under proc.mu)
}

// start runs the process (again). Its output is appended to logPath.
func (p *proc) start() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", p.name, err)
	}
	defer f.Close()

	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if p.gid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(os.Getuid()), Gid: p.gid, NoSetGroups: true}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}

	r := &procRun{cmd: cmd, done: make(chan struct{})}
	p.mu.Lock()
	p.cur = r
	p.mu.Unlock()
	p.wg.Add(1)
	go p.wait(r)
	return nil
}

// wait reaps one run and restarts the process if it died on its own.
func (p *proc) wait(r *procRun) {
	defer p.wg.Done()
	err := r.cmd.Wait()
	close(r.done)

	p.mu.Lock()
	intended := r.intended
	if !intended {
		p.exits = append(p.exits, Exit{Process: p.name, At: time.Now(), Status: exitStatus(err)})
	}
	p.mu.Unlock()
	if intended || p.ctx.Err() != nil {
		return
	}
	p.log.Warn("process exited on its own", "process", p.name, "status", exitStatus(err))
	select {
	case <-p.ctx.Done():
		return
	case <-time.After(restartDelay):
	}
	if err := p.start(); err != nil {
		p.log.Error("restart process", "process", p.name, "error", err)
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}

// current returns the latest run, nil before the first start.
func (p *proc) current() *procRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// running reports whether the latest run has not exited.
func (p *proc) running() bool {
	r := p.current()
	if r == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the process itself (not its group: a worker's
// journaled runs outlive it, as on a real crash).
func (p *proc) signal(sig syscall.Signal) error {
	r := p.current()
	if r == nil {
		return fmt.Errorf("signal %s: not started", p.name)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	return nil
}

// kill SIGKILLs the process and waits until it is reaped.
func (p *proc) kill() error {
	r := p.markIntended()
	if r == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a paused process dies at once too
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-r.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s: still running after 10s", p.name)
	}
}

func (p *proc) markIntended() *procRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.cur.intended = true
	}
	return p.cur
}

// destroy kills the process and its whole process group, for clean-up.
func (p *proc) destroy() {
	r := p.markIntended()
	if r == nil {
		return
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGCONT)
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.kill()
}

// unexpectedExits returns the runs that ended on their own.
func (p *proc) unexpectedExits() []Exit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exit(nil), p.exits...)
}
