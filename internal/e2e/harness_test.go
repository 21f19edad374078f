package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"go.uber.org/goleak"
)

// binary is the swarm binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "swarm-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "swarm")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/swarm")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build swarm:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a swarm process the test started.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, log: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout = lockedWriter{p.mu, p.log}
	p.cmd.Stderr = lockedWriter{p.mu, p.log}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, p.cmd.Start())
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of %v:\n%s", args, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill SIGKILLs the process group and waits for the process.
func (p *proc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) signal(sig syscall.Signal) { syscall.Kill(-p.cmd.Process.Pid, sig) }

// server starts `swarm server` on fresh ports and waits until it serves.
type server struct {
	*proc
	dir, http, raft, gossip string
}

func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	s := &server{dir: dir, http: freePort(t), raft: freePort(t), gossip: freePort(t)}
	args := append([]string{"server", "--data-dir", dir, "--http", s.http, "--raft", s.raft, "--gossip", s.gossip, "--log-level", "info"}, extra...)
	s.proc = start(t, args...)
	waitHealthy(t, s.http)
	return s
}

// restart starts the server again on its data dir, with no flags but the
// data dir and the extra ones: the rest is recorded there.
func (s *server) restart(t *testing.T, extra ...string) {
	t.Helper()
	s.proc = start(t, append([]string{"server", "--data-dir", s.dir, "--log-level", "info"}, extra...)...)
	waitHealthy(t, s.http)
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "server %s did not come up", addr)
}

// cli runs a swarm CLI command against server and returns its stdout.
func cli(t *testing.T, server string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--server", server}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "swarm %v: %s", args, errb.String())
	return out.String()
}

func restClient(t *testing.T, servers ...string) *api.RESTClient {
	t.Helper()
	c, err := api.NewClient(servers)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func executions(t *testing.T, server, job string) []api.Execution {
	t.Helper()
	var out []api.Execution
	require.NoError(t, json.Unmarshal([]byte(cli(t, server, "exec", "list", "--job", job, "--all", "-o", "json")), &out))
	return out
}

// sink reads the lines jobs appended: "job scheduled_at".
func sink(t *testing.T, path string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if out[f[0]] == nil {
			out[f[0]] = map[string]int{}
		}
		out[f[0]][f[1]]++
	}
	return out
}
