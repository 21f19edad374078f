package client

import (
	"testing"
	"time"
)

// TestJournalRemembersConfirmedRuns: a confirmed run stays known across a
// restart, bounded to the newest doneKept.
func TestJournalRemembersConfirmedRuns(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range doneKept + 10 {
		if err := j.confirm(runKey{execID: "e", attempt: i}, base.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	j.close()

	j, err = openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	done, err := j.doneRuns()
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != doneKept {
		t.Fatalf("kept %d done runs, want %d", len(done), doneKept)
	}
	if _, ok := done[runKey{"e", 0}]; ok {
		t.Fatal("the oldest done run was not dropped")
	}
	if at, ok := done[runKey{"e", doneKept + 9}]; !ok || !at.Equal(base.Add(time.Duration(doneKept+9)*time.Second)) {
		t.Fatalf("the newest done run is missing or wrong: %v %v", at, ok)
	}
}
