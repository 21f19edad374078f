package logx

import (
	"sync"
	"time"
)

// Limiter lets a repeating log line through at most once per interval and
// counts what it held back, so a failing loop logs its first failure, then
// one line per interval with the count, then one "recovered" line.
type Limiter struct {
	Interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
	failing    bool
}

// Allow reports whether a failure at now should be logged, and how many
// were suppressed since the last logged one.
func (l *Limiter) Allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failing = true
	if !l.last.IsZero() && now.Sub(l.last) < l.Interval {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}

// Recovered reports whether the loop was failing and resets the limiter;
// the caller then logs one "recovered" line.
func (l *Limiter) Recovered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	was := l.failing
	l.failing, l.last, l.suppressed = false, time.Time{}, 0
	return was
}
