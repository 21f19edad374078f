package shard

import (
	"sync"
	"time"
)

// meter counts events in one-second buckets over a sliding window, for
// rates such as fires per second.
type meter struct {
	mu      sync.Mutex
	buckets [10]int64
	at      [10]int64 // unix second of each bucket
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

// rate is the mean per second over the window's complete seconds.
func (m *meter) rate(now time.Time) float64 {
	sec := now.Unix()
	var sum int64
	m.mu.Lock()
	for i := range m.buckets {
		if age := sec - m.at[i]; age >= 1 && age <= int64(len(m.buckets)-1) {
			sum += m.buckets[i]
		}
	}
	m.mu.Unlock()
	return float64(sum) / float64(len(m.buckets)-1)
}
