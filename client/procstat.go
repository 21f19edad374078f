package client

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// procStat is what the client reads of /proc/<pid>/stat: the state letter
// and the start time in clock ticks since boot. The pair (pid, start)
// names one process; a recycled pid has another start time.
type procStat struct {
	state byte
	start uint64
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("read process stat: %w", err)
	}
	return parseProcStat(b)
}

// parseProcStat reads fields 3 (state) and 22 (starttime). The command
// name in field 2 may hold spaces and parentheses, so parsing starts after
// the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("parse process stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, errors.New("parse process stat: too few fields")
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse process stat start time: %w", err)
	}
	return procStat{state: f[0][0], start: start}, nil
}

// processAlive reports whether the process (pid, start) still runs. A
// zombie has ended: its parent (perhaps init, perhaps nobody) has not
// reaped it yet.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return st.start == start && st.state != 'Z' && st.state != 'X'
}

// processStart returns the start time of pid, or 0 when it is unknown.
func processStart(pid int) uint64 {
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return st.start
}

// signalGroup sends sig to the process group pgid; a group that is gone
// is not an error.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid <= 0 {
		return
	}
	_ = syscall.Kill(-pgid, sig) // ESRCH: already gone
}
