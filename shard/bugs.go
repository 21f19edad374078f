package shard

// bugs are deliberate defects that the fault-injection suite compiles in
// with build tags, to prove that its checkers catch a broken build. Every
// real build leaves them all false.
var bugs struct {
	// skipBarrier: a new leader neither waits for committed entries to be
	// applied nor re-releases committed, unacknowledged fires.
	skipBarrier bool

	// dispatchFirst: fires are handed to workers before their FireBatch is
	// committed.
	dispatchFirst bool
}
