package client

import (
	"bytes"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/swarmsched/swarm/protocol"
)

// Output streams.
const (
	streamStdout = "stdout"
	streamStderr = "stderr"
)

// maxRawLine cuts a line that never ends, so one endless line cannot grow
// a buffer without bound. Streamed lines are cut shorter (LogLineBytes).
const maxRawLine = 64 << 10

// output collects one run's output: a bounded tail of all of it for the
// result, and rate-limited lines for the live log stream. It is safe for
// concurrent use: the stdout and stderr readers of a process both add.
type output struct {
	tailMax int
	lineMax int
	rate    float64 // lines per second, also the burst

	mu      sync.Mutex
	tail    []byte // up to 2*tailMax bytes; the last tailMax are the tail
	tokens  float64
	refill  time.Time
	pending []protocol.LogLine
	dropped int
}

func newOutput(tailMax, lineMax, linesPerSecond int) *output {
	return &output{
		tailMax: tailMax,
		lineMax: lineMax,
		rate:    float64(linesPerSecond),
		tokens:  float64(linesPerSecond),
	}
}

// add records one line. Lines with live false go to the tail only: they
// were written while no client watched and are not streamed late.
func (o *output) add(stream, text string, t time.Time, live bool) {
	o.mu.Lock()
	defer o.mu.Unlock()

	o.appendTail(text)
	if !live {
		return
	}
	if !o.take(t) {
		o.dropped++
		return
	}
	o.flushDropped(t)
	o.pending = append(o.pending, protocol.LogLine{Time: t.UTC(), Stream: stream, Text: o.cut(text)})
}

// appendTail keeps the last tailMax bytes, trimming only when the buffer
// doubles so that a chatty run costs amortised O(1) per byte.
func (o *output) appendTail(text string) {
	o.tail = append(o.tail, text...)
	o.tail = append(o.tail, '\n')
	if len(o.tail) > 2*o.tailMax {
		o.tail = append(o.tail[:0], o.tail[len(o.tail)-o.tailMax:]...)
	}
}

// take spends one token of the run's bucket, refilled at rate per second.
func (o *output) take(t time.Time) bool {
	if !o.refill.IsZero() && t.After(o.refill) {
		o.tokens = min(o.rate, o.tokens+t.Sub(o.refill).Seconds()*o.rate)
	}
	if o.refill.IsZero() || t.After(o.refill) {
		o.refill = t
	}
	if o.tokens < 1 {
		return false
	}
	o.tokens--
	return true
}

func (o *output) flushDropped(t time.Time) {
	if o.dropped == 0 {
		return
	}
	text := fmt.Sprintf("[... %d lines dropped]", o.dropped)
	o.pending = append(o.pending, protocol.LogLine{Time: t.UTC(), Stream: streamStderr, Text: text})
	o.dropped = 0
}

// cut bounds a streamed line, at a rune boundary.
func (o *output) cut(text string) string {
	if len(text) <= o.lineMax {
		return text
	}
	n := o.lineMax
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n] + " [truncated]"
}

// lines returns and clears the lines waiting to be streamed. With final
// set it also reports lines dropped since the last streamed one.
func (o *output) lines(now time.Time, final bool) []protocol.LogLine {
	o.mu.Lock()
	defer o.mu.Unlock()

	if final {
		o.flushDropped(now)
	}
	l := o.pending
	o.pending = nil
	return l
}

// tailString returns the last tailMax bytes of output, starting at a rune.
func (o *output) tailString() string {
	o.mu.Lock()
	defer o.mu.Unlock()

	t := o.tail
	if len(t) > o.tailMax {
		t = t[len(t)-o.tailMax:]
	}
	for len(t) > 0 && !utf8.RuneStart(t[0]) {
		t = t[1:]
	}
	return string(t)
}

// lineWriter splits written bytes into lines for fn. A line longer than
// maxRawLine is handed over in pieces. It is safe for concurrent use.
type lineWriter struct {
	fn func(line string)

	mu  sync.Mutex
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(string(bytes.TrimSuffix(w.buf[:i], []byte{'\r'})))
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) >= maxRawLine {
		w.fn(string(w.buf[:maxRawLine]))
		w.buf = w.buf[maxRawLine:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a large spent buffer go
	}
	return len(p), nil
}

// flush hands over a last line that has no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()

	if len(w.buf) > 0 {
		w.fn(string(w.buf))
		w.buf = nil
	}
}
