package server

import (
	"fmt"
	"slices"
	"sort"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
)

// clusterStatus renders GET /v1/cluster from the meta state and what this
// server knows of its replicas.
func (s *Server) clusterStatus() api.Cluster {
	st := s.meta.State()
	out := api.Cluster{
		MetaLeader: s.metaGroup.LeaderID(),
		Epoch:      st.Epoch,
		Replicas:   st.Replicas,
		Servers:    []api.ClusterServer{},
		Shards:     []api.ClusterShard{},
	}
	reply, _ := s.view.snapshot()
	for _, id := range sortedNames(st.Servers) {
		srv := st.Servers[id]
		cs := api.ClusterServer{ID: srv.ID, HTTP: srv.HTTPAddr, Raft: srv.RaftAddr, State: srv.State, Load: reply.Loads[id]}
		if id == s.id.NodeID {
			cs.Load = s.localLoad()
		}
		out.Servers = append(out.Servers, cs)
	}
	for _, info := range st.Shards {
		sh := s.shardStatus(st, info, reply)
		out.Shards = append(out.Shards, sh)
		if len(sh.Voters) < st.Replicas {
			out.UnderReplicated++
		}
	}
	return out
}

func (s *Server) shardStatus(st *fsm.MetaState, info fsm.ShardInfo, reply reportReply) api.ClusterShard {
	cs := api.ClusterShard{ID: info.ID, Replicas: append([]string{}, info.Replicas...), Slots: []string{},
		Leader: s.shardLeader(info.ID), Jobs: reply.ShardJobs[info.ID]}
	sort.Strings(cs.Replicas)
	for _, r := range st.SlotRangesOf(info.ID) {
		cs.Slots = append(cs.Slots, fmt.Sprintf("%d-%d", r.From, r.To))
	}
	cs.Voters = reply.Voters[info.ID]
	if r := s.runner(info.ID); r != nil && r.Group.IsLeader() {
		cs.Jobs = r.Shard.JobCount()
		cs.Voters, _ = configOf(r.Group.Raft)
	}
	cs.Voters = slices.Clone(cs.Voters)
	sort.Strings(cs.Voters)
	return cs
}

// localLoad measures this server's load figures.
func (s *Server) localLoad() api.Load {
	var l api.Load
	s.mu.RLock()
	for _, r := range s.runners {
		l.Replicas++
		l.StoreBytes += r.Shard.SizeBytes()
		if r.Group.IsLeader() {
			l.ShardLeaders++
			l.Jobs += r.Shard.JobCount()
		}
	}
	s.mu.RUnlock()
	l.Clients = len(s.hub.Clients())
	return l
}
