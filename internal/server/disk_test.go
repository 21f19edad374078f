package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
)

// tmpfs mounts a small tmpfs at a new directory, or skips the test where
// mounting is not allowed.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
			return path
		}
	}
}

// TestFullDiskFailsWritesAndRecovers: with the data disk full, writes fail
// with an error and the server does not crash; it keeps answering (a lone
// server cannot even vote for itself on a full disk, so its consistent
// reads answer 503 until space returns; in a cluster the other replicas
// take over), and it recovers by itself once space returns.
func TestFullDiskFailsWritesAndRecovers(t *testing.T) {
	dir := tmpfs(t, "48m")
	s := startServer(t, filepath.Join(dir, "data"))
	defer s.Stop()
	base := "http://" + s.HTTPAddr()
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("before"), nil))

	filler := fill(t, dir)
	failed := false
	for i := range 20 {
		status := do(t, "POST", base+"/v1/jobs", cronJob(fmt.Sprintf("full-%d", i)), nil)
		if status >= 500 {
			failed = true
			break
		}
	}
	require.True(t, failed, "writes to a full disk must fail")

	status := do(t, "GET", base+"/v1/jobs/demo/before", nil, nil)
	require.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, status, "the server still answers")

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool {
		return do(t, "POST", base+"/v1/jobs", cronJob(fmt.Sprintf("after-%d", time.Now().UnixNano())), nil) == http.StatusCreated
	}, 30*time.Second, 500*time.Millisecond, "writes work again once space returns")
	var j api.Job
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/jobs/demo/before", nil, &j), "nothing acknowledged was lost")
}
