package transport

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"
)

// Helpers shared by the calls swarm makes to other systems: http performs
// (HTTPPerformer) and alert webhooks (Notifier).

// jsonRequest builds an outgoing JSON call. The extra headers (a job's
// own) are set first, so they cannot replace the ones every swarm call
// carries: Content-Type, User-Agent, and the Idempotency-Key that lets the
// receiver drop a repeated delivery.
func jsonRequest(ctx context.Context, method, url string, body []byte, userAgent, key string, extra map[string]string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Idempotency-Key", key)
	return req, nil
}

// backoff is the wait between the tries of a call: next, doubled after
// each wait up to max.
type backoff struct {
	next, max time.Duration
}

// wait sleeps for the next interval and reports true, or reports false
// at once when ctx ends first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.max)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
