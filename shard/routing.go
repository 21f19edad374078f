package shard

import (
	"hash/fnv"

	"github.com/swarmsched/swarm/api"
)

// Candidate is a connected client as routing sees it.
type Candidate struct {
	ID       string
	Server   string
	Capacity int
	Running  int
	Labels   map[string]string
	Handlers []string
}

// Free is the capacity left.
func (c Candidate) Free() int { return max(0, c.Capacity-c.Running) }

// PickTargets chooses where the pieces of one fire of job go, among cands
// (the connected clients of the job's client group, sorted by ID). It is pure: seq
// varies the choice of "any" and "round_robin" (the caller passes a
// counter or a random number).
//
// It returns one Target per piece (pieces for a sharded job, one per
// eligible client for broadcast); an empty Target means no client has room
// for that piece now. It returns nil when no client is eligible at all.
// Clients at capacity, draining, excluded, lacking the job's labels or
// the job's handler are not eligible.
func PickTargets(job *api.Job, cands []Candidate, pieces int, exclude map[string]bool, seq uint64) []Target {
	elig := eligible(job, cands, exclude)
	if len(elig) == 0 {
		return nil
	}
	if job.Routing == api.RoutingBroadcast {
		out := make([]Target, len(elig))
		for i, c := range elig {
			out[i] = Target{Client: c.ID, Server: c.Server}
		}
		return out
	}
	pieces = max(pieces, 1)
	if pieces == 1 {
		c := pickOne(job, elig, seq)
		return []Target{{Client: c.ID, Server: c.Server}}
	}
	return spread(elig, pieces, seq)
}

func eligible(job *api.Job, cands []Candidate, exclude map[string]bool) []Candidate {
	out := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if c.Free() <= 0 || exclude[c.ID] || !hasLabels(c.Labels, job.ClientLabels) {
			continue
		}
		if job.Executor.Kind == api.ExecutorHandler && !contains(c.Handlers, job.Executor.Name) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func pickOne(job *api.Job, elig []Candidate, seq uint64) Candidate {
	switch job.Routing {
	case api.RoutingLeastBusy:
		best := elig[0]
		for _, c := range elig[1:] {
			// Compare running/capacity without division.
			if c.Running*best.Capacity < best.Running*c.Capacity {
				best = c
			}
		}
		return best
	case api.RoutingConsistentHash:
		return rendezvous(job.Key(), elig)
	default: // any, round_robin, client_labels
		return elig[seq%uint64(len(elig))]
	}
}

// rendezvous picks the client with the highest hash of (key, client), so
// a job keeps its client while the group is stable and only the jobs of a
// leaving client move.
func rendezvous(key string, elig []Candidate) Candidate {
	var best Candidate
	var bestScore uint64
	for i, c := range elig {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(c.ID))
		if s := h.Sum64(); i == 0 || s > bestScore {
			best, bestScore = c, s
		}
	}
	return best
}

// spread deals pieces round-robin over the clients with room, starting at
// seq, each piece using one unit of a client's free capacity.
func spread(elig []Candidate, pieces int, seq uint64) []Target {
	free := make([]int, len(elig))
	total := 0
	for i, c := range elig {
		free[i] = c.Free()
		total += free[i]
	}
	out := make([]Target, pieces)
	i := int(seq % uint64(len(elig)))
	for p := 0; p < pieces && total > 0; p++ {
		for free[i] == 0 {
			i = (i + 1) % len(elig)
		}
		out[p] = Target{Client: elig[i].ID, Server: elig[i].Server}
		free[i]--
		total--
		i = (i + 1) % len(elig)
	}
	return out
}
