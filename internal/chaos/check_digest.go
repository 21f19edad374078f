package chaos

import (
	"fmt"
	"sort"
)

// DigestSample is one replica's answer to GET
// /v1/internal/shards/{n}/digest.
type DigestSample struct {
	Shard   int    `json:"shard"`
	Server  string `json:"server"`
	Applied uint64 `json:"applied"`
	Digest  string `json:"digest"`
	Leader  bool   `json:"leader"`
}

// DigestRound is one poll of every replica of one shard.
type DigestRound []DigestSample

// DigestResult is the outcome of the replica convergence check.
type DigestResult struct {
	Shards     int         `json:"shards"`
	Converged  int         `json:"converged"` // shards seen with all replicas at one index and one digest
	Rounds     int         `json:"rounds"`
	Violations []Violation `json:"violations,omitempty"`
}

// CheckDigests checks the polled digests of each shard: replicas at the
// same applied index must have the same digest in every round, and some
// round must show all of a shard's replicas (at least want of them) at one
// index.
func CheckDigests(rounds map[int][]DigestRound, want int) DigestResult {
	shards := make([]int, 0, len(rounds))
	for s := range rounds {
		shards = append(shards, s)
	}
	sort.Ints(shards)

	var res DigestResult
	for _, s := range shards {
		res.Shards++
		converged := false
		for _, round := range rounds[s] {
			res.Rounds++
			if v, ok := divergent(round); ok {
				res.Violations = append(res.Violations, Violation{Check: "digest", Subject: fmt.Sprintf("shard %d", s), Message: v})
			}
			if len(round) >= want && sameIndex(round) {
				converged = true
			}
		}
		if converged {
			res.Converged++
		} else {
			res.Violations = append(res.Violations, Violation{Check: "digest", Subject: fmt.Sprintf("shard %d", s),
				Message: fmt.Sprintf("replicas never reached one applied index in %d polls: last %s", len(rounds[s]), describeRound(last(rounds[s])))})
		}
	}
	return res
}

// divergent describes two replicas at one applied index with different
// digests.
func divergent(round DigestRound) (string, bool) {
	byIndex := map[uint64]DigestSample{}
	for _, d := range round {
		prev, ok := byIndex[d.Applied]
		if ok && prev.Digest != d.Digest {
			return fmt.Sprintf("replicas %s and %s are both at applied index %d with digests %s and %s",
				prev.Server, d.Server, d.Applied, prev.Digest, d.Digest), true
		}
		byIndex[d.Applied] = d
	}
	return "", false
}

func sameIndex(round DigestRound) bool {
	for _, d := range round {
		if d.Applied != round[0].Applied || d.Digest != round[0].Digest {
			return false
		}
	}
	return len(round) > 0
}

func last(rounds []DigestRound) DigestRound {
	if len(rounds) == 0 {
		return nil
	}
	return rounds[len(rounds)-1]
}

func describeRound(round DigestRound) string {
	s := "["
	for i, d := range round {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s@%d", d.Server, d.Applied)
	}
	return s + "]"
}
