package shard

import (
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// ErrHandoverSpent: a leadership transfer to that server was already
// asked for in the current term.
var ErrHandoverSpent = errors.New("leadership transfer already tried this term")

// Handover asks one Raft group for leadership transfers, at most one per
// target per term.
//
// Why at most one: in hashicorp/raft v1.7.2 a transfer hands a request to
// the target's replication goroutine over a one-slot channel without
// watching for its own stop. A transfer that timed out while that goroutine
// was busy (backing off from a target that does not answer, or walking a
// diverged log back entry by entry) leaves its request in the slot; a
// second transfer then blocks on the full slot, and if leadership is lost
// before the goroutine drains it, the transfer never returns. Its "transfer
// in progress" flag is not reset by a new term, so from then on this member
// refuses every write whenever it leads, until the process restarts: a
// shard that stops firing while its leader heartbeats. The chaos suite
// found this (docs/reliability.md, finding 11). The first transfer of a
// term never blocks, because the term's replication goroutines start with
// an empty slot.
type Handover struct {
	mu    sync.Mutex
	term  uint64
	tried map[raft.ServerID]bool
}

// Tried reports whether a transfer to id was asked for in r's current
// term ("" stands for "any server", as in raft.LeadershipTransfer).
func (h *Handover) Tried(r *raft.Raft, id raft.ServerID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rollLocked(r.CurrentTerm())
	return h.tried[id]
}

// Transfer asks r to hand leadership to id at addr, or to the server raft
// picks when id is "". It fails with ErrHandoverSpent, asking nothing,
// when a transfer to id was already asked for in this term.
func (h *Handover) Transfer(r *raft.Raft, id raft.ServerID, addr raft.ServerAddress) error {
	h.mu.Lock()
	h.rollLocked(r.CurrentTerm())
	if h.tried[id] {
		h.mu.Unlock()
		return fmt.Errorf("transfer to %q: %w", id, ErrHandoverSpent)
	}
	h.tried[id] = true
	h.mu.Unlock()

	if id == "" {
		return r.LeadershipTransfer().Error()
	}
	return r.LeadershipTransferToServer(id, addr).Error()
}

func (h *Handover) rollLocked(term uint64) {
	if h.tried == nil || term != h.term {
		h.term, h.tried = term, map[raft.ServerID]bool{}
	}
}
