package shard

import (
	"sync"
	"time"
)

// meterWindow is how far back a meter counts. A minute covers every
// schedule of a minute or less in full, so a herd that fires on one second
// of each minute reads as its mean rate, not as a burst or as nothing.
const meterWindow = 60 * time.Second

// meter counts events in one-second buckets over a sliding window, for
// rates such as fires per second.
type meter struct {
	mu      sync.Mutex
	buckets [meterWindow/time.Second + 1]int64
	at      [meterWindow/time.Second + 1]int64 // unix second of each bucket
	from    int64                              // unix second counting began; 0: the whole window
}

// start makes rate average over the seconds since now until the window
// fills, so a meter begun a few seconds ago reads the rate it has seen,
// not that rate scaled down by how little of the window has passed.
func (m *meter) start(now time.Time) {
	m.mu.Lock()
	m.from = now.Unix()
	m.mu.Unlock()
}

func (m *meter) add(now time.Time, n int64) {
	sec := now.Unix()
	i := sec % int64(len(m.buckets))
	m.mu.Lock()
	if m.at[i] != sec {
		m.at[i], m.buckets[i] = sec, 0
	}
	m.buckets[i] += n
	m.mu.Unlock()
}

// full reports whether the window holds only complete seconds counted
// since start.
func (m *meter) full(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return now.Unix()-m.from-1 >= int64(len(m.buckets)-1)
}

// rate is the mean per second over the window's complete seconds (those
// since start, until the window fills).
func (m *meter) rate(now time.Time) float64 {
	sec := now.Unix()
	var sum int64
	m.mu.Lock()
	defer m.mu.Unlock()
	n := int64(len(m.buckets) - 1)
	if m.from > 0 {
		// The second start fell in is partial; complete ones follow it.
		n = min(n, sec-m.from-1)
	}
	if n <= 0 {
		return 0
	}
	for i := range m.buckets {
		if age := sec - m.at[i]; age >= 1 && age <= n {
			sum += m.buckets[i]
		}
	}
	return float64(sum) / float64(n)
}
