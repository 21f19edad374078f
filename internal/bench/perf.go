package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// profile records every server with perf(1) for cfg.Perf and writes a
// flat and a call-graph report next to the data.
func (r *runner) profile(ctx context.Context, _ time.Time) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		r.progress("profile: perf is not installed (apt-get install linux-perf)")
		return
	}
	var pids []string
	for _, pid := range r.pids() {
		pids = append(pids, strconv.Itoa(pid))
	}
	data := filepath.Join(r.dir, "perf.data")
	secs := strconv.Itoa(int(r.cfg.Perf / time.Second))
	r.progress("profiling servers %s for %s", strings.Join(pids, ","), r.cfg.Perf)
	rec := exec.CommandContext(ctx, perf, "record", "-F", "199", "-g", "-o", data, "-p", strings.Join(pids, ","), "--", "sleep", secs)
	if out, err := rec.CombinedOutput(); err != nil {
		r.progress("profile: perf record: %v: %s", err, out)
		return
	}
	r.countSyncs(ctx, perf, pids)
	for _, rp := range []struct {
		name string
		args []string
	}{
		{"perf-flat.txt", []string{"--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "0.5"}},
		{"perf-children.txt", []string{"--children", "--sort", "symbol", "-g", "none", "--percent-limit", "3"}},
	} {
		path := filepath.Join(r.dir, rp.name)
		args := append([]string{"report", "-i", data, "--stdio"}, rp.args...)
		out, err := exec.CommandContext(ctx, perf, args...).Output()
		if err != nil {
			r.progress("profile: perf report: %v", err)
			continue
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			r.progress("profile: %v", fmt.Errorf("write %s: %w", path, err))
			continue
		}
		r.mu.Lock()
		r.rep.Profiles = append(r.rep.Profiles, path)
		r.mu.Unlock()
	}
}

// countSyncs counts the servers' fsync and fdatasync calls over 10 s: on a
// disk that does a few hundred syncs a second, their rate bounds what
// Raft and bbolt can commit.
func (r *runner) countSyncs(ctx context.Context, perf string, pids []string) {
	path := filepath.Join(r.dir, "perf-syncs.txt")
	out, err := exec.CommandContext(ctx, perf, "stat", "-e", "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync",
		"-p", strings.Join(pids, ","), "--", "sleep", "10").CombinedOutput()
	if err != nil {
		r.progress("profile: perf stat: %v: %s", err, out)
		return
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		r.progress("profile: write %s: %v", path, err)
		return
	}
	r.mu.Lock()
	r.rep.Profiles = append(r.rep.Profiles, path)
	r.mu.Unlock()
}
