package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/swarmsched/swarm/api"
)

// Names the workload uses.
const (
	clientGroup = "chaos"      // the workers' client group
	fireGroup   = "chaos-fire" // the job group of the firing jobs
	crudGroup   = "chaos-crud" // the job group of the CRUD workload
	replicas    = 3
	firstGID    = 47000 // server i runs with a group id from here, for the firewall
)

// server is one swarm server process on its own loopback address.
type server struct {
	idx     int
	id      string // node id, "s1"...
	ip      string
	http    string // host:port
	dataDir string
	proc    *proc
}

// worker is one swarm client process.
type worker struct {
	id   string
	proc *proc
}

// cluster owns the processes of a run.
type cluster struct {
	cfg     Config
	log     *slog.Logger
	servers []*server
	workers []*worker
	hc      *http.Client

	ctx context.Context
	wg  sync.WaitGroup // the procs' wait goroutines
}

// runSlot tells runs with different base ports apart.
func runSlot(basePort int) int { return basePort % 200 }

// serverIP is server i's loopback address.
func serverIP(basePort, i int) string {
	return fmt.Sprintf("127.77.%d.%d", runSlot(basePort), 11+i)
}

// serverGID is the group id server i runs with.
func serverGID(basePort, i int) uint32 { return uint32(firstGID + runSlot(basePort)*16 + i) }

// newCluster lays out the servers and workers; nothing runs yet. The
// server with index diskServer keeps its data dir at diskDir.
func newCluster(ctx context.Context, cfg Config, workDir, logDir string, diskServer int, diskDir string, useGIDs bool) *cluster {
	c := &cluster{cfg: cfg, log: cfg.Logger, ctx: ctx, hc: &http.Client{Timeout: DefaultRequestTimeout}}
	var addrs []string
	for i := range cfg.Servers {
		ip := serverIP(cfg.BasePort, i)
		addrs = append(addrs, fmt.Sprintf("%s:%d", ip, cfg.BasePort))
	}
	for i := range cfg.Servers {
		s := &server{idx: i, id: fmt.Sprintf("s%d", i+1), ip: serverIP(cfg.BasePort, i), http: addrs[i],
			dataDir: filepath.Join(workDir, fmt.Sprintf("s%d", i+1))}
		if i == diskServer {
			s.dataDir = diskDir
		}
		args := []string{"server", "--node-id", s.id, "--data-dir", s.dataDir,
			"--http", s.http,
			"--raft", fmt.Sprintf("%s:%d", s.ip, cfg.BasePort+1),
			"--gossip", fmt.Sprintf("%s:%d", s.ip, cfg.BasePort+2),
			"--shards", fmt.Sprint(cfg.Shards), "--replicas", fmt.Sprint(replicas),
			"--log-format", "json", "--log-level", "info"}
		if i > 0 {
			args = append(args, "--join", addrs[0])
		}
		s.proc = &proc{name: s.id, bin: cfg.Binary, args: args, logPath: filepath.Join(logDir, s.id+".log"),
			log: c.log, ctx: ctx, wg: &c.wg}
		if useGIDs {
			s.proc.gid = serverGID(cfg.BasePort, i)
		}
		c.servers = append(c.servers, s)
	}
	for i := range cfg.Clients {
		id := fmt.Sprintf("c%d", i+1)
		// Each worker lists the servers from a different first one, so
		// that the sockets spread.
		order := append(append([]string(nil), addrs[i%len(addrs):]...), addrs[:i%len(addrs)]...)
		args := []string{"client", "--server", strings.Join(order, ","), "--id", id, "--group", clientGroup,
			"--capacity", fmt.Sprint(DefaultClientCap), "--data-dir", filepath.Join(workDir, id),
			"--log-format", "json"}
		c.workers = append(c.workers, &worker{id: id, proc: &proc{name: id, bin: cfg.Binary, args: args,
			env: []string{"CHAOS_CLIENT=" + id}, logPath: filepath.Join(logDir, id+".log"), log: c.log, ctx: ctx, wg: &c.wg}})
	}
	return c
}

// start runs the first server, waits until it serves, then the others,
// waits until every shard is fully replicated with a leader, then starts
// the workers and waits until they are registered.
func (c *cluster) start(within time.Duration) error {
	deadline := time.Now().Add(within)
	for i, s := range c.servers {
		if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
			return fmt.Errorf("start cluster: %w", err)
		}
		if err := s.proc.start(); err != nil {
			return err
		}
		if i == 0 {
			if err := c.waitFor(deadline, "first server serves", func() bool { return c.healthy(s) }); err != nil {
				return err
			}
		}
	}
	if err := c.waitReady(time.Until(deadline)); err != nil {
		return err
	}
	for _, w := range c.workers {
		if err := w.proc.start(); err != nil {
			return err
		}
	}
	return c.waitFor(deadline, "workers registered", func() bool { return c.registeredWorkers() == len(c.workers) })
}

// waitReady waits until every server serves and every shard has its
// replicas, all voting, and a leader.
func (c *cluster) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	return c.waitFor(deadline, "cluster ready", func() bool {
		for _, s := range c.servers {
			if !c.healthy(s) {
				return false
			}
		}
		cl, err := c.clusterView()
		if err != nil || cl.UnderReplicated != 0 || len(cl.Shards) != c.cfg.Shards {
			return false
		}
		for _, sh := range cl.Shards {
			if sh.Leader == "" || len(sh.Voters) != replicas {
				return false
			}
		}
		return true
	})
}

func (c *cluster) waitFor(deadline time.Time, what string, ok func() bool) error {
	for {
		if ok() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: timed out", what)
		}
		select {
		case <-c.ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, c.ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *cluster) healthy(s *server) bool {
	resp, err := c.hc.Get("http://" + s.http + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// allHealthy reports whether every server answers /healthz.
func (c *cluster) allHealthy() bool {
	for _, s := range c.servers {
		if !c.healthy(s) {
			return false
		}
	}
	return true
}

// clusterView asks the servers in turn for GET /v1/cluster.
func (c *cluster) clusterView() (*api.Cluster, error) {
	var last error
	for _, s := range c.servers {
		var cl api.Cluster
		if _, err := getJSON(c.hc, "http://"+s.http+"/v1/cluster", &cl); err != nil {
			last = err
			continue
		}
		return &cl, nil
	}
	return nil, last
}

func (c *cluster) registeredWorkers() int {
	for _, s := range c.servers {
		var list api.ClientList
		if _, err := getJSON(c.hc, "http://"+s.http+"/v1/clients?group="+clientGroup, &list); err == nil {
			return len(list.Clients)
		}
	}
	return 0
}

func (c *cluster) httpAddrs() []string {
	out := make([]string, len(c.servers))
	for i, s := range c.servers {
		out[i] = s.http
	}
	return out
}

// resumeAll sends SIGCONT to every process, for healing.
func (c *cluster) resumeAll() {
	for _, s := range c.servers {
		_ = s.proc.signal(syscall.SIGCONT)
	}
	for _, w := range c.workers {
		_ = w.proc.signal(syscall.SIGCONT)
	}
}

// stop kills every process (workers first) and waits for their reapers.
func (c *cluster) stop() {
	for _, w := range c.workers {
		w.proc.destroy()
	}
	for _, s := range c.servers {
		s.proc.destroy()
	}
	c.wg.Wait()
}

// exits returns every process end the harness did not cause.
func (c *cluster) exits() []Exit {
	var out []Exit
	for _, s := range c.servers {
		out = append(out, s.proc.unexpectedExits()...)
	}
	for _, w := range c.workers {
		out = append(out, w.proc.unexpectedExits()...)
	}
	return out
}
