package chaos

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadEvery is how often the machine's load average is sampled: lateness
// on a shared two-core machine means little without it.
const loadEvery = 10 * time.Second

// LoadStats summarises the 1-minute load average seen during a run.
type LoadStats struct {
	Samples int     `json:"samples"`
	Mean    float64 `json:"mean"`
	Max     float64 `json:"max"`
	CPUs    int     `json:"cpus"`
}

// loadSampler samples /proc/loadavg until its context ends.
type loadSampler struct {
	mu  sync.Mutex
	sum float64
	st  LoadStats
}

func (l *loadSampler) run(ctx context.Context) {
	for {
		if v, ok := readLoad(); ok {
			l.mu.Lock()
			l.st.Samples++
			l.sum += v
			l.st.Max = max(l.st.Max, v)
			l.mu.Unlock()
		}
		if !pause(ctx, loadEvery) {
			return
		}
	}
}

func (l *loadSampler) stats(cpus int) LoadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	st.CPUs = cpus
	if st.Samples > 0 {
		st.Mean = l.sum / float64(st.Samples)
	}
	return st
}

func readLoad() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}
