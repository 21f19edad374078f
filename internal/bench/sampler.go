package bench

import (
	"strconv"
	"sync"
	"time"
)

// selfID names the bench's own process in samples, machineID the whole
// machine (every process, ours or not).
const (
	selfID    = "bench"
	machineID = "machine"
)

// procPoint is one reading of one process.
type procPoint struct {
	At  time.Time
	PID int
	ProcSample
}

// sampler reads each server's and the bench's own /proc counters every
// second. Its goroutine ends at stop.
type sampler struct {
	pids func() map[string]int

	mu     sync.Mutex
	series map[string][]procPoint

	stop func()
}

func startSampler(every time.Duration, pids func() map[string]int) *sampler {
	s := &sampler{pids: pids, series: map[string][]procPoint{}}
	s.sample()
	s.stop = progressEvery(every, s.sample)
	return s
}

func (s *sampler) sample() {
	now := time.Now()
	targets := s.pids()
	targets[selfID] = 0
	if ps, err := readMachine(); err == nil {
		s.mu.Lock()
		s.series[machineID] = append(s.series[machineID], procPoint{At: now, ProcSample: ps})
		s.mu.Unlock()
	}
	for id, pid := range targets {
		name := "self"
		if pid != 0 {
			name = strconv.Itoa(pid)
		}
		ps, err := readProc(name)
		if err != nil {
			continue // the process is gone (killed, restarting)
		}
		s.mu.Lock()
		s.series[id] = append(s.series[id], procPoint{At: now, PID: pid, ProcSample: ps})
		s.mu.Unlock()
	}
}

// cpuCores is the mean CPU use of id over [from, to], in cores, counting
// only intervals between two readings of the same process.
func (s *sampler) cpuCores(id string, from, to time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ticks uint64
	var span time.Duration
	pts := s.series[id]
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if a.At.Before(from) || b.At.After(to) || a.PID != b.PID || b.CPUTicks < a.CPUTicks {
			continue
		}
		ticks += b.CPUTicks - a.CPUTicks
		span += b.At.Sub(a.At)
	}
	if span <= 0 {
		return 0
	}
	return float64(ticks) / clockTicks / span.Seconds()
}

// cpuSeries is id's CPU use per interval, in cores, with the interval's
// end time.
func (s *sampler) cpuSeries(id string) ([]time.Time, []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var at []time.Time
	var cores []float64
	pts := s.series[id]
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if a.PID != b.PID || b.CPUTicks < a.CPUTicks {
			continue
		}
		at = append(at, b.At)
		cores = append(cores, float64(b.CPUTicks-a.CPUTicks)/clockTicks/b.At.Sub(a.At).Seconds())
	}
	return at, cores
}

// latest is id's most recent reading at or before t.
func (s *sampler) latest(id string, t time.Time) (procPoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pts := s.series[id]
	for i := len(pts) - 1; i >= 0; i-- {
		if !pts[i].At.After(t) {
			return pts[i], true
		}
	}
	return procPoint{}, false
}

// peak is id's highest RSS and RssAnon over [from, to].
func (s *sampler) peak(id string, from, to time.Time) (rss, anon int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.series[id] {
		if p.At.Before(from) || p.At.After(to) {
			continue
		}
		rss, anon = max(rss, p.RSSKiB), max(anon, p.RssAnonKiB)
	}
	return rss, anon
}
