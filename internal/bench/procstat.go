package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/PID/stat. It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's counters.
type ProcSample struct {
	CPUTicks   uint64 // utime + stime
	RSSKiB     int64  // VmRSS
	RssAnonKiB int64  // RssAnon: heap and stacks, not mapped files (bbolt)
}

// readProc reads /proc/PID/stat and /proc/PID/status ("self" for this
// process).
func readProc(pid string) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return s, fmt.Errorf("read proc %s: %w", pid, err)
	}
	if s.CPUTicks, err = parseStatTicks(stat); err != nil {
		return s, fmt.Errorf("read proc %s: %w", pid, err)
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return s, fmt.Errorf("read proc %s: %w", pid, err)
	}
	s.RSSKiB = statusKiB(status, "VmRSS:")
	s.RssAnonKiB = statusKiB(status, "RssAnon:")
	return s, nil
}

// parseStatTicks returns utime+stime (fields 14 and 15) of a stat line.
// The command name (field 2) may hold spaces, so fields are counted after
// its closing parenthesis.
func parseStatTicks(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("stat: no command name")
	}
	fields := bytes.Fields(stat[end+1:])
	// fields[0] is field 3 (state); utime is field 14, stime 15.
	if len(fields) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	utime, err1 := strconv.ParseUint(string(fields[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("stat: bad utime or stime")
	}
	return utime + stime, nil
}

// statusKiB returns the value of a "Key:   123 kB" line, or 0.
func statusKiB(status []byte, key string) int64 {
	i := bytes.Index(status, []byte("\n"+key))
	if i < 0 {
		return 0
	}
	line := status[i+1+len(key):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n
}

// diskBytes is what the files under dir occupy on disk (as du counts).
func diskBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file removed while we walk
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return total, nil
}

// readMachine reads the machine's busy CPU time from /proc/stat: every
// CPU's time but idle and iowait, in clock ticks.
func readMachine() (ProcSample, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return ProcSample{}, fmt.Errorf("read machine cpu: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return ProcSample{}, errors.New("read machine cpu: unexpected /proc/stat")
	}
	var busy uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return ProcSample{}, fmt.Errorf("read machine cpu: %w", err)
		}
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is counted in user already
			break
		}
		busy += n
	}
	return ProcSample{CPUTicks: busy}, nil
}
