package testsignal

import (
	"testing"
	"time"
)

// DefaultTimeout is how long WaitOrTimeout waits.
const DefaultTimeout = 10 * time.Second

// Signal is a typed event hook. The zero value is a no-op.
type Signal[T any] struct {
	ch chan T
}

// Init arms the signal; call it before the code under test starts.
func (s *Signal[T]) Init(tb testing.TB) {
	tb.Helper()
	s.ch = make(chan T, 1024)
}

// Signal records v if the signal is armed; it never blocks.
func (s *Signal[T]) Signal(v T) {
	if s.ch == nil {
		return
	}
	select {
	case s.ch <- v:
	default:
	}
}

// C returns the channel of recorded values (nil when not armed).
func (s *Signal[T]) C() <-chan T { return s.ch }

// WaitOrTimeout returns the next recorded value or fails the test after
// DefaultTimeout.
func (s *Signal[T]) WaitOrTimeout(tb testing.TB) T {
	tb.Helper()
	select {
	case v := <-s.ch:
		return v
	case <-time.After(DefaultTimeout):
		tb.Fatalf("testsignal: no signal within %s", DefaultTimeout)
		var zero T
		return zero
	}
}
