package server

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

// Live logs are kept outside Raft, on the server that received them: one
// append-only file per execution under <data>/logs, bounded in size, and
// removed after logRetention.
const (
	logMaxBytes   = 8 << 20
	logRetention  = 7 * 24 * time.Hour
	logSweepEvery = time.Hour
	logDroppedMsg = "[swarm: log limit reached; further lines dropped]"
)

type logStore struct {
	dir string
	log *slog.Logger

	mu    sync.Mutex
	sizes map[string]int64
	subs  map[string][]chan string
}

func newLogStore(dir string, log *slog.Logger) (*logStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	return &logStore{dir: dir, log: log, sizes: map[string]int64{}, subs: map[string][]chan string{}}, nil
}

func (l *logStore) path(execID string) (string, bool) {
	if _, err := fsm.ParseExecID(execID); err != nil {
		return "", false // ids name files: only well-formed ones
	}
	return filepath.Join(l.dir, execID+".log"), true
}

// append stores the lines of a log message and passes them to followers.
func (l *logStore) append(m *protocol.Log) {
	path, ok := l.path(m.ExecID)
	if !ok {
		return
	}
	var b strings.Builder
	for _, line := range m.Lines {
		fmt.Fprintf(&b, "%s %s %s\n", line.Time.UTC().Format(time.RFC3339Nano), line.Stream, strings.TrimRight(line.Text, "\n"))
	}
	text := b.String()

	l.mu.Lock()
	defer l.mu.Unlock()
	size, known := l.sizes[m.ExecID]
	if !known {
		if st, err := os.Stat(path); err == nil {
			size = st.Size()
		}
	}
	if size >= logMaxBytes {
		return
	}
	if size+int64(len(text)) > logMaxBytes {
		text = time.Now().UTC().Format(time.RFC3339Nano) + " swarm " + logDroppedMsg + "\n"
	}
	if err := appendFile(path, text); err != nil {
		l.log.Warn("store log lines", "exec_id", m.ExecID, "error", err)
		return
	}
	l.sizes[m.ExecID] = size + int64(len(text))
	for _, ch := range l.subs[m.ExecID] {
		for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			select {
			case ch <- line:
			default: // a slow follower misses lines rather than stall clients
			}
		}
	}
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// read writes the stored lines to w; with follow it then streams new lines
// until done reports the run ended or ctx ends.
func (l *logStore) read(ctx context.Context, execID string, follow bool, finished func() bool, w transport.LogWriter) error {
	path, ok := l.path(execID)
	if !ok {
		return nil
	}
	var ch chan string
	if follow {
		ch = l.subscribe(execID)
		defer l.unsubscribe(execID, ch)
	}
	if err := copyLines(path, w); err != nil {
		return err
	}
	w.Flush()
	if !follow {
		return nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line := <-ch:
			if err := w.WriteLine(line); err != nil {
				return nil
			}
			w.Flush()
		case <-tick.C:
			if finished() {
				return nil
			}
		}
	}
}

func copyLines(path string, w transport.LogWriter) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := w.WriteLine(sc.Text()); err != nil {
			return nil
		}
	}
	return sc.Err()
}

func (l *logStore) subscribe(execID string) chan string {
	ch := make(chan string, 256)
	l.mu.Lock()
	l.subs[execID] = append(l.subs[execID], ch)
	l.mu.Unlock()
	return ch
}

func (l *logStore) unsubscribe(execID string, ch chan string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	subs := l.subs[execID]
	for i, c := range subs {
		if c == ch {
			l.subs[execID] = append(subs[:i], subs[i+1:]...)
			break
		}
	}
	if len(l.subs[execID]) == 0 {
		delete(l.subs, execID)
	}
}

// sweep removes log files older than the retention.
func (l *logStore) sweep(now time.Time) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < logRetention {
			continue
		}
		os.Remove(filepath.Join(l.dir, e.Name()))
		l.mu.Lock()
		delete(l.sizes, strings.TrimSuffix(e.Name(), ".log"))
		l.mu.Unlock()
	}
}
