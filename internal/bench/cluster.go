package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// manifestFile records a bench cluster in its directory, so that a later
// run can start the same servers on the same ports (--reuse).
const manifestFile = "bench-cluster.json"

// servingLine is what `swarm server` prints on stderr once it serves.
const servingLine = "serving on http://"

// serverAddr is one server's identity and ports.
type serverAddr struct {
	ID     string `json:"id"`
	HTTP   string `json:"http"`
	Raft   string `json:"raft"`
	Gossip string `json:"gossip"`
}

// manifest describes a bench cluster and the jobs it was loaded with.
type manifest struct {
	Servers  []serverAddr `json:"servers"`
	Shards   int          `json:"shards"`
	Replicas int          `json:"replicas"`
	Jobs     int          `json:"jobs"`
	PeriodS  int64        `json:"period_s"`
	Herd     bool         `json:"herd"`
}

// clusterConfig is what starting a cluster needs.
type clusterConfig struct {
	Binary     string
	Dir        string
	Servers    int
	Shards     int
	Replicas   int
	ServerArgs []string
	LogLevel   string
	Logger     *slog.Logger
}

// proc is one `swarm server` process, started and restarted by the bench.
type proc struct {
	addr serverAddr
	dir  string
	log  string

	cmd       *exec.Cmd
	startedAt time.Time
	serving   chan struct{} // closed when the serving line is printed
	servingAt time.Time
	done      chan struct{} // closed when the process has exited
}

// Cluster is a set of local server processes.
type Cluster struct {
	cfg clusterConfig
	m   manifest

	mu    sync.Mutex
	procs map[string]*proc
}

// startCluster starts a new cluster in cfg.Dir: the first server
// bootstraps, the others join it.
func startCluster(ctx context.Context, cfg clusterConfig) (*Cluster, error) {
	c := &Cluster{cfg: cfg, procs: map[string]*proc{}}
	c.m = manifest{Shards: cfg.Shards, Replicas: cfg.Replicas}
	for i := range cfg.Servers {
		addr, err := freeAddrs(fmt.Sprintf("s%d", i+1))
		if err != nil {
			return nil, err
		}
		c.m.Servers = append(c.m.Servers, addr)
	}
	if err := c.saveManifest(); err != nil {
		return nil, err
	}
	for i, a := range c.m.Servers {
		join := ""
		if i > 0 {
			join = c.m.Servers[0].HTTP
		}
		p, err := c.start(a, join)
		if err != nil {
			c.Stop()
			return nil, err
		}
		if err := p.waitServing(ctx, 2*time.Minute); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// reuseCluster starts the servers recorded in dir's manifest, all at once.
func reuseCluster(cfg clusterConfig) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(cfg.Dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("reuse cluster: %w", err)
	}
	c := &Cluster{cfg: cfg, procs: map[string]*proc{}}
	if err := json.Unmarshal(b, &c.m); err != nil {
		return nil, fmt.Errorf("reuse cluster: %s: %w", manifestFile, err)
	}
	for _, a := range c.m.Servers {
		if _, err := c.start(a, ""); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) saveManifest() error {
	b, err := json.MarshalIndent(c.m, "", "  ")
	if err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.cfg.Dir, manifestFile), b, 0o644); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	return nil
}

// freeAddrs picks three free loopback ports. Another process may take one
// before the server binds it; the server then fails to start and says so.
func freeAddrs(id string) (serverAddr, error) {
	var ports [3]string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return serverAddr{}, fmt.Errorf("pick a port: %w", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().String()
	}
	return serverAddr{ID: id, HTTP: ports[0], Raft: ports[1], Gossip: ports[2]}, nil
}

// start runs one server process. join is empty for the first server and
// for restarts.
func (c *Cluster) start(a serverAddr, join string) (*proc, error) {
	p := &proc{
		addr:    a,
		dir:     filepath.Join(c.cfg.Dir, a.ID),
		log:     filepath.Join(c.cfg.Dir, a.ID+".log"),
		serving: make(chan struct{}),
		done:    make(chan struct{}),
	}
	args := []string{"server", "--node-id", a.ID, "--data-dir", p.dir,
		"--http", a.HTTP, "--raft", a.Raft, "--gossip", a.Gossip, "--log-level", c.cfg.LogLevel}
	if c.cfg.Shards > 0 {
		args = append(args, "--shards", strconv.Itoa(c.cfg.Shards))
	}
	if c.cfg.Replicas > 0 {
		args = append(args, "--replicas", strconv.Itoa(c.cfg.Replicas))
	}
	if join != "" {
		args = append(args, "--join", join)
	}
	args = append(args, c.cfg.ServerArgs...)

	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", a.ID, err)
	}
	p.cmd = exec.Command(c.cfg.Binary, args...)
	p.cmd.Stdout = logf
	// A server must not outlive the bench, whatever ends the bench.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", a.ID, err)
	}
	p.startedAt = time.Now()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", a.ID, err)
	}
	c.cfg.Logger.Debug("server started", "server", a.ID, "pid", p.cmd.Process.Pid, "args", strings.Join(args, " "))
	go p.watch(stderr, logf)

	c.mu.Lock()
	c.procs[a.ID] = p
	c.mu.Unlock()
	return p, nil
}

// watch copies the server's stderr to its log, notes when it serves, and
// reaps it. It is the process's owner goroutine: it ends when the process
// has exited.
func (p *proc) watch(stderr io.Reader, logf *os.File) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Bytes()
		if !seen && strings.Contains(string(line), servingLine) {
			seen = true
			p.servingAt = time.Now()
			close(p.serving)
		}
		logf.Write(line)
		logf.Write([]byte{'\n'})
	}
	io.Copy(io.Discard, stderr)
	p.cmd.Wait()
	logf.Close()
	close(p.done)
}

// waitServing waits until the server prints that it serves.
func (p *proc) waitServing(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.serving:
		return nil
	case <-p.done:
		return fmt.Errorf("server %s exited before serving (%v); see %s", p.addr.ID, p.cmd.ProcessState, p.log)
	case <-t.C:
		return fmt.Errorf("server %s did not serve within %s; see %s", p.addr.ID, timeout, p.log)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// proc returns a server's process.
func (c *Cluster) proc(id string) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[id]
}

// IDs lists the servers, in manifest order.
func (c *Cluster) IDs() []string {
	out := make([]string, len(c.m.Servers))
	for i, a := range c.m.Servers {
		out[i] = a.ID
	}
	return out
}

// PID returns a live server's pid, or 0.
func (c *Cluster) PID(id string) int {
	p := c.proc(id)
	if p == nil || !p.alive() {
		return 0
	}
	return p.cmd.Process.Pid
}

// HTTPAddrs lists every server's API address.
func (c *Cluster) HTTPAddrs() []string {
	out := make([]string, len(c.m.Servers))
	for i, a := range c.m.Servers {
		out[i] = a.HTTP
	}
	return out
}

// liveHTTP lists the API addresses of servers whose process runs.
func (c *Cluster) liveHTTP() []string {
	var out []string
	for _, a := range c.m.Servers {
		if p := c.proc(a.ID); p != nil && p.alive() {
			out = append(out, a.HTTP)
		}
	}
	return out
}

// Status reads GET /v1/cluster from a live server.
func (c *Cluster) Status(ctx context.Context) (*api.Cluster, error) {
	live := c.liveHTTP()
	if len(live) == 0 {
		return nil, errors.New("cluster status: no server runs")
	}
	cl, err := api.NewClient(live, api.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("cluster status: %w", err)
	}
	defer cl.CloseIdleConnections()
	st, err := cl.Cluster(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster status: %w", err)
	}
	return st, nil
}

// WaitReady waits until every live server is alive in the cluster view,
// every shard has a leader and its full set of voters.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) (*api.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := min(max(c.cfg.Replicas, 1), len(c.liveHTTP()))
	var last error
	for {
		st, err := c.Status(ctx)
		if err == nil {
			if err = readyError(st, len(c.liveHTTP()), want); err == nil {
				return st, nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster not ready within %s: %w", timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func readyError(st *api.Cluster, servers, voters int) error {
	alive := 0
	for _, s := range st.Servers {
		if s.State == "alive" {
			alive++
		}
	}
	if alive < servers {
		return fmt.Errorf("%d of %d servers alive", alive, servers)
	}
	if len(st.Shards) == 0 {
		return errors.New("no shards yet")
	}
	for _, sh := range st.Shards {
		if sh.Leader == "" {
			return fmt.Errorf("shard %d has no leader", sh.ID)
		}
		if len(sh.Voters) < voters {
			return fmt.Errorf("shard %d has %d of %d voters", sh.ID, len(sh.Voters), voters)
		}
	}
	return nil
}

// WaitStable waits until no shard has changed leader for quiet: a new
// cluster moves leaderships for a while to spread them, and a write to a
// shard changing leader is refused.
func (c *Cluster) WaitStable(ctx context.Context, quiet, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last, since := "", time.Now()
	for {
		if st, err := c.Status(ctx); err == nil {
			sig := leaderSignature(st)
			if sig != last {
				last, since = sig, time.Now()
			} else if time.Since(since) >= quiet {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("leaders not stable for %s within %s", quiet, timeout)
		case <-time.After(time.Second):
		}
	}
}

func leaderSignature(st *api.Cluster) string {
	var b strings.Builder
	for _, sh := range st.Shards {
		fmt.Fprintf(&b, "%d=%s,", sh.ID, sh.Leader)
	}
	return b.String()
}

// TopLeader returns the server that leads the most shards, and how many.
func TopLeader(st *api.Cluster) (string, int) {
	count := map[string]int{}
	for _, sh := range st.Shards {
		if sh.Leader != "" {
			count[sh.Leader]++
		}
	}
	best, n := "", -1
	for _, s := range st.Servers {
		if count[s.ID] > n {
			best, n = s.ID, count[s.ID]
		}
	}
	return best, n
}

// Signal sends sig to a server and waits up to timeout for it to exit;
// past that it is killed.
func (c *Cluster) Signal(id string, sig syscall.Signal, timeout time.Duration) error {
	p := c.proc(id)
	if p == nil || !p.alive() {
		return fmt.Errorf("signal %s: not running", id)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("signal %s: still running %s after %v; killed", id, timeout, sig)
}

// Restart starts a stopped server again from its data dir.
func (c *Cluster) Restart(id string) (*proc, error) {
	for _, a := range c.m.Servers {
		if a.ID == id {
			if p := c.proc(id); p != nil && p.alive() {
				return nil, fmt.Errorf("restart %s: still running", id)
			}
			return c.start(a, "")
		}
	}
	return nil, fmt.Errorf("restart %s: no such server", id)
}

// Stop asks every server to stop and waits; a server still running after
// 30 s is killed.
func (c *Cluster) Stop() {
	c.mu.Lock()
	procs := make([]*proc, 0, len(c.procs))
	for _, p := range c.procs {
		procs = append(procs, p)
	}
	c.mu.Unlock()
	for _, p := range procs {
		if p.alive() {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range procs {
		t := time.NewTimer(max(time.Until(deadline), 0))
		select {
		case <-p.done:
		case <-t.C:
			p.cmd.Process.Kill()
			<-p.done
		}
		t.Stop()
	}
}

// DataDirs lists the servers' data directories.
func (c *Cluster) DataDirs() map[string]string {
	out := map[string]string{}
	for _, a := range c.m.Servers {
		out[a.ID] = filepath.Join(c.cfg.Dir, a.ID)
	}
	return out
}
