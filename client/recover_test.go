package client

import (
	"context"
	"fmt"
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

// TestRefusalSurvivesARestart: a worker's refusal of an attempt is final,
// across a restart too. The chaos suite found a worker that refused a fire
// for capacity, was killed, came back and ran a copy the leader re-sent
// before the refusal reached it, while the leader gave the fire to another
// worker on the refusal (docs/reliability.md, finding 15).
func TestRefusalSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler), ShimCommand: []string{"/bin/false"}, Capacity: 4}
	fire := protocol.Fire{ExecID: "1.a991d425d8ba8136.1796409218000.0", Attempt: 1, Executor: api.Executor{Kind: api.ExecutorHandler, Name: "h"}}

	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRunner(cfg, nil, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ack := r.start(fire); ack.Accepted || ack.Reason != reasonUnknownHandler {
		t.Fatalf("first offer: accepted %v reason %q, want refused %q", ack.Accepted, ack.Reason, reasonUnknownHandler)
	}
	j.close()

	// The worker restarts on the same data dir, able to run it now.
	j, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	handlers := map[string]Handler{"h": func(context.Context, *Fire) error { return nil }}
	r, err = newRunner(cfg, handlers, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.recoverJournal(); err != nil {
		t.Fatal(err)
	}
	if ack := r.start(fire); ack.Accepted || ack.Reason != reasonUnknownHandler {
		t.Fatalf("offer after the restart: accepted %v reason %q, want the first answer %q", ack.Accepted, ack.Reason, reasonUnknownHandler)
	}
	other := fire
	other.Attempt = 2
	if ack := r.start(other); !ack.Accepted {
		t.Fatalf("another attempt was refused (%q): only the refused attempt is remembered", ack.Reason)
	}
	r.wg.Wait() // the handler's run ends on its own
}

func TestJournalKeepsTheLastRefusals(t *testing.T) {
	j, err := openJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	at := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	for i := range doneKept + 10 {
		if err := j.refuse(runKey{fmt.Sprintf("e%05d", i), 1}, reasonCapacity, at.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := j.refusals()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != doneKept {
		t.Fatalf("%d refusals kept, want %d", len(got), doneKept)
	}
	if _, ok := got[runKey{"e00009", 1}]; ok {
		t.Fatal("the oldest refusals were kept")
	}
	if got[runKey{fmt.Sprintf("e%05d", doneKept+9), 1}] != reasonCapacity {
		t.Fatal("the newest refusal was dropped")
	}
}
