package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
)

// fwName starts the names of the harness's chains (iptables) and table
// (nft); the run's base port ends them.
const fwName = "SWARMCHAOS"

// fwServer is how the firewall knows a server: the group id its process
// runs with, and its loopback address.
type fwServer struct {
	gid uint32
	ip  string
}

// firewall cuts links between servers. Every server runs with its own
// group id, and a nat rule rewrites the source of each connection it
// opens to its own loopback address (the kernel would pick 127.0.0.1).
// Then "packets of group G to address A" are exactly the packets server G
// sends to server A: its requests on connections it opened and its
// answers on connections A opened. A one-way cut drops one direction, a
// two-way cut both.
type firewall struct {
	name    string // chain or table
	backend string // "iptables" or "nft"
	servers []fwServer

	mu      sync.Mutex
	blocked map[[2]int]bool // from, to (server indexes)
}

// newFirewall installs the source rewriting, with iptables or, failing
// that, nft. The error says why partitions cannot be injected.
func newFirewall(name string, servers []fwServer) (*firewall, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("partitions need root (iptables or nft)")
	}
	var reasons []string
	for _, backend := range []string{"iptables", "nft"} {
		if _, err := exec.LookPath(backend); err != nil {
			reasons = append(reasons, backend+" is not installed")
			continue
		}
		f := &firewall{name: name, backend: backend, servers: servers, blocked: map[[2]int]bool{}}
		f.teardown() // rules a killed earlier run left behind
		if err := f.setup(); err != nil {
			f.teardown()
			reasons = append(reasons, err.Error())
			continue
		}
		return f, nil
	}
	return nil, fmt.Errorf("partitions cannot be injected: %s", strings.Join(reasons, "; "))
}

func (f *firewall) setup() error {
	if f.backend == "nft" {
		var b strings.Builder
		fmt.Fprintf(&b, "table ip %s {\n chain nat { type nat hook postrouting priority srcnat; policy accept;\n", f.name)
		for _, s := range f.servers {
			fmt.Fprintf(&b, "  meta skgid %d snat to %s\n", s.gid, s.ip)
		}
		b.WriteString(" }\n chain out { type filter hook output priority filter; policy accept; }\n}\n")
		return runInput(b.String(), "nft", "-f", "-")
	}
	cmds := [][]string{
		{"-t", "nat", "-N", f.name},
		{"-t", "nat", "-A", "POSTROUTING", "-j", f.name},
		{"-N", f.name},
		{"-A", "OUTPUT", "-j", f.name},
	}
	for _, s := range f.servers {
		cmds = append(cmds, []string{"-t", "nat", "-A", f.name, "-m", "owner", "--gid-owner", fmt.Sprint(s.gid), "-j", "SNAT", "--to-source", s.ip})
	}
	for _, args := range cmds {
		if err := runInput("", "iptables", args...); err != nil {
			return err
		}
	}
	return nil
}

// teardown removes everything the firewall installed; errors are ignored
// because parts may be missing.
//
// TODO: a SIGKILL of the harness skips teardown; its chains stay until the
// next run with the same base port removes them (newFirewall does), and
// meanwhile they still rewrite and drop the group ids' traffic.
func (f *firewall) teardown() {
	if f.backend == "nft" {
		_ = runInput("", "nft", "delete", "table", "ip", f.name)
		return
	}
	for runInput("", "iptables", "-D", "OUTPUT", "-j", f.name) == nil {
	}
	for runInput("", "iptables", "-t", "nat", "-D", "POSTROUTING", "-j", f.name) == nil {
	}
	for _, table := range []string{"filter", "nat"} {
		_ = runInput("", "iptables", "-t", table, "-F", f.name)
		_ = runInput("", "iptables", "-t", table, "-X", f.name)
	}
}

// cut drops the packets server from sends to server to; with both, the
// other way too.
func (f *firewall) cut(from, to int, both bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[[2]int{from, to}] = true
	if both {
		f.blocked[[2]int{to, from}] = true
	}
	return f.apply()
}

// heal removes every cut.
func (f *firewall) heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked = map[[2]int]bool{}
	return f.apply()
}

// apply rewrites the filter chain from f.blocked.
func (f *firewall) apply() error {
	pairs := make([][2]int, 0, len(f.blocked))
	for p := range f.blocked {
		pairs = append(pairs, p)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0]*100+pairs[i][1] < pairs[j][0]*100+pairs[j][1] })

	if f.backend == "nft" {
		var b strings.Builder
		fmt.Fprintf(&b, "flush chain ip %s out\n", f.name)
		for _, p := range pairs {
			fmt.Fprintf(&b, "add rule ip %s out meta skgid %d ip daddr %s drop\n", f.name, f.servers[p[0]].gid, f.servers[p[1]].ip)
		}
		return runInput(b.String(), "nft", "-f", "-")
	}
	if err := runInput("", "iptables", "-F", f.name); err != nil {
		return err
	}
	for _, p := range pairs {
		err := runInput("", "iptables", "-A", f.name, "-m", "owner", "--gid-owner", fmt.Sprint(f.servers[p[0]].gid),
			"-d", f.servers[p[1]].ip, "-j", "DROP")
		if err != nil {
			return err
		}
	}
	return nil
}

func runInput(stdin, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
