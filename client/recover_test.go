package client

import (
	"log/slog"
	"testing"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// A run that ended before its worker crashed comes back from the journal
// as an unconfirmed result. Once the server confirms it, a copy of the
// fire the leader re-sent meanwhile (its ack was overdue) must be
// acknowledged as the run it was, not run again. The chaos suite found
// it running twice (docs/reliability.md, finding 12).
func TestRecoveredResultIsNotRunAgainAfterItsConfirmation(t *testing.T) {
	dir := t.TempDir()
	started := time.Date(2026, 12, 4, 12, 6, 14, 0, time.UTC)
	k := runKey{"9.d2befce68f125351.1796385974000.0", 1}

	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.finish(protocol.Result{ExecID: k.execID, Attempt: k.attempt, State: api.ExecSucceeded, StartedAt: started, FinishedAt: started.Add(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	j.close()

	// The worker restarts on the same data dir.
	j, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	cfg := Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler), ShimCommand: []string{"/bin/false"}}
	r, err := newRunner(cfg, nil, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.recoverJournal(); err != nil {
		t.Fatal(err)
	}
	r.confirm(k)

	ack := r.start(protocol.Fire{ExecID: k.execID, Attempt: k.attempt, Executor: api.Executor{Kind: api.ExecutorProcess, Command: "true"}})
	if !ack.Accepted || !ack.StartedAt.Equal(started) {
		t.Fatalf("ack of the re-sent fire: accepted %v started %v, want the recovered run (started %v)", ack.Accepted, ack.StartedAt, started)
	}
	r.mu.Lock()
	running := len(r.runs)
	r.mu.Unlock()
	if running != 0 {
		t.Fatalf("the re-sent fire of a run that already ended started again (%d runs)", running)
	}
}
