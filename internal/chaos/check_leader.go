package chaos

import (
	"fmt"
	"sort"
)

// LeaderResult is the outcome of the fencing check.
type LeaderResult struct {
	Fires      int         `json:"fires"`
	Terms      int         `json:"terms"` // (shard, term) pairs with a leader in the logs
	Violations []Violation `json:"violations,omitempty"`
}

type shardTerm struct {
	shard int
	term  uint64
}

// CheckLeaders checks that every run was sent by a server that the logs
// show gained leadership of the run's shard in the run's term, and that
// no two servers led one shard in one term.
func CheckLeaders(fires []Fire, leaderships []Leadership) LeaderResult {
	leaders := map[shardTerm]map[string]bool{}
	for _, l := range leaderships {
		k := shardTerm{l.Shard, l.Term}
		if leaders[k] == nil {
			leaders[k] = map[string]bool{}
		}
		leaders[k][l.Server] = true
	}
	res := LeaderResult{Fires: len(fires), Terms: len(leaders)}
	for k, servers := range leaders {
		if len(servers) > 1 {
			res.Violations = append(res.Violations, Violation{Check: "leader", Subject: fmt.Sprintf("shard %d term %d", k.shard, k.term),
				Message: fmt.Sprintf("servers %v all gained leadership of one shard in one term", sortedKeys(servers))})
		}
	}
	for _, f := range fires {
		if !leaders[shardTerm{f.Shard, f.Term}][f.Leader] {
			res.Violations = append(res.Violations, Violation{Check: "leader", Subject: fmt.Sprintf("%s exec %s attempt %d", f.Job, f.ExecID, f.Attempt),
				Message: fmt.Sprintf("fired by %q as leader of shard %d in term %d, but its log shows no such leadership (leaders of that term: %v)",
					f.Leader, f.Shard, f.Term, sortedKeys(leaders[shardTerm{f.Shard, f.Term}]))})
		}
	}
	sort.Slice(res.Violations, func(i, j int) bool { return res.Violations[i].Subject < res.Violations[j].Subject })
	return res
}
