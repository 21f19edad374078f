package server

import (
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/shard"
	"github.com/swarmsched/swarm/transport"
)

// view is this server's picture of the cluster beyond the meta state: who
// leads each shard, how far each replica has applied, every server's load
// and clients. Every server refreshes it from the meta leader's report
// replies; the meta leader builds it from the reports it receives. It is
// in memory only: a new meta leader has it again within a report period.
type view struct {
	mu sync.RWMutex

	// Built by the meta leader from reports.
	reports map[string]*report // latest report per server
	seen    map[string]time.Time
	dir     map[string]dirEntry // client list per server

	// settled is each shard's fire rate as last reported by a leader
	// whose window was full: a leader that just took over reports less
	// than the shard's load until its own window fills.
	settled map[int]settledRate

	// Learned by every server from replies.
	reply     reportReply
	replyAt   time.Time
	directory map[string]dirEntry
}

// settledRate is a shard's fire rate measured over a full window, and
// the term of the leader that measured it: a deposed leader's late report
// does not overwrite its successor's.
type settledRate struct {
	term  uint64
	fires float64
}

func newView() *view {
	return &view{
		reports:   map[string]*report{},
		seen:      map[string]time.Time{},
		dir:       map[string]dirEntry{},
		settled:   map[int]settledRate{},
		directory: map[string]dirEntry{},
	}
}

// accept records a report on the meta leader and returns the reply.
func (v *view) accept(r *report, metaLeader string, now time.Time) reportReply {
	v.mu.Lock()
	defer v.mu.Unlock()
	clients := r.Clients
	r.Clients = nil
	v.reports[r.Server] = r
	v.seen[r.Server] = now
	for _, sh := range r.Shards {
		if sh.Leader && !sh.Warming && sh.Term >= v.settled[sh.ID].term {
			v.settled[sh.ID] = settledRate{term: sh.Term, fires: sh.Fires}
		}
	}
	if clients != nil || r.ClientsVersion == 0 {
		v.dir[r.Server] = dirEntry{Version: r.ClientsVersion, Clients: clients}
	}

	out := reportReply{
		MetaLeader: metaLeader,
		Leaders:    map[int]string{},
		Voters:     map[int][]string{},
		Applied:    map[int]map[string]uint64{},
		ShardJobs:  map[int]int64{},
		Loads:      map[string]api.Load{},
		Directory:  map[string]dirEntry{},
	}
	// A server unseen for a while has no clients to offer: its list goes,
	// and the others learn it (an empty entry) with their next report.
	for id, seen := range v.seen {
		if now.Sub(seen) > suspectAfter {
			delete(v.dir, id)
		}
	}
	out.AckedVersion = v.dir[r.Server].Version
	out.NeedClients = out.AckedVersion != r.ClientsVersion
	terms := map[int]uint64{}
	for id, rep := range v.reports {
		out.Loads[id] = rep.Load
		for _, sh := range rep.Shards {
			if out.Applied[sh.ID] == nil {
				out.Applied[sh.ID] = map[string]uint64{}
			}
			out.Applied[sh.ID][id] = sh.Applied
			if sh.Leader && sh.Term >= terms[sh.ID] {
				terms[sh.ID] = sh.Term
				out.Leaders[sh.ID] = id
				out.Voters[sh.ID] = sh.Voters
				out.ShardJobs[sh.ID] = sh.Jobs
			}
		}
	}
	for id, e := range v.dir {
		if id != r.Server && e.Version != r.Known[id] {
			out.Directory[id] = e
		}
	}
	for id := range r.Known {
		if _, ok := v.dir[id]; !ok {
			out.Directory[id] = dirEntry{} // gone: the receiver drops it
		}
	}
	return out
}

// shardViews returns what shard leaders last reported, for placement.
func (v *view) shardViews() map[int]shard.ShardView {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := map[int]shard.ShardView{}
	terms := map[int]uint64{}
	for id, rep := range v.reports {
		for _, sh := range rep.Shards {
			if !sh.Leader || sh.Term < terms[sh.ID] {
				continue
			}
			terms[sh.ID] = sh.Term
			fires := sh.Fires
			if settled, ok := v.settled[sh.ID]; ok && sh.Warming {
				fires = settled.fires
			}
			out[sh.ID] = shard.ShardView{Leader: id, Voters: sh.Voters, Nonvoters: sh.Nonvoters, FiresPerSecond: fires,
				Warming: sh.Warming && fires > 0}
		}
	}
	return out
}

// lastSeen is when the meta leader last heard from a server.
func (v *view) lastSeen(id string) (time.Time, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	t, ok := v.seen[id]
	return t, ok
}

// forget drops a server's report and clients (it left the cluster).
func (v *view) forget(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.reports, id)
	delete(v.seen, id)
	delete(v.dir, id)
}

// learn applies a reply on any server.
func (v *view) learn(r reportReply, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reply, v.replyAt = r, now
	for id, e := range r.Directory {
		if e.Version == 0 && e.Clients == nil {
			delete(v.directory, id)
			continue
		}
		v.directory[id] = e
	}
}

// known returns the versions of the client lists this server holds.
func (v *view) known() map[string]uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make(map[string]uint64, len(v.directory))
	for id, e := range v.directory {
		out[id] = e.Version
	}
	return out
}

// leaderOf returns the server that last reported leading a shard.
func (v *view) leaderOf(n int) string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.reply.Leaders[n]
}

func (v *view) applied(n int, server string) (uint64, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	a, ok := v.reply.Applied[n][server]
	return a, ok
}

func (v *view) snapshot() (reportReply, time.Time) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.reply, v.replyAt
}

// remoteClients lists the clients of other servers (self excluded).
func (v *view) remoteClients(self string) []transport.ClientInfo {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []transport.ClientInfo
	for id, e := range v.directory {
		if id != self {
			out = append(out, e.Clients...)
		}
	}
	return out
}

// clientServer returns the server a remote client is connected to.
func (v *view) clientServer(client, self string) (string, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for id, e := range v.directory {
		if id == self {
			continue
		}
		for _, c := range e.Clients {
			if c.ID == client {
				return id, true
			}
		}
	}
	return "", false
}
