package server

import (
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/transport"
)

// reportEvery is how often a server reports to the meta leader: its load,
// the state of the shard replicas it holds, and changes to its clients.
// The answer carries the cluster view back (shard leaders, every server's
// clients and load), so the client directory reaches every server at
// least once a second.
const reportEvery = time.Second

// report is what a server sends to the meta leader.
type report struct {
	Server string      `json:"server"`
	AtMS   int64       `json:"at_ms"`
	Load   api.Load    `json:"load"`
	Shards []shardRept `json:"shards"`

	// ClientsVersion numbers this server's client list; Clients is the
	// whole list, sent only when the version changed since the meta leader
	// last acknowledged it (AckedVersion in the reply).
	ClientsVersion uint64                 `json:"clients_version"`
	Clients        []transport.ClientInfo `json:"clients,omitempty"`

	// Known maps each server to the version of its client list this
	// server holds, so the reply carries only newer lists.
	Known map[string]uint64 `json:"known,omitempty"`
}

// shardRept is a server's view of one of its shard replicas.
type shardRept struct {
	ID        int      `json:"id"`
	Leader    bool     `json:"leader"`
	Term      uint64   `json:"term"`
	Applied   uint64   `json:"applied"`
	Voters    []string `json:"voters,omitempty"`    // leader only
	Nonvoters []string `json:"nonvoters,omitempty"` // leader only
	Jobs      int64    `json:"jobs"`
	Fires     float64  `json:"fires_per_second"`

	// Warming: the leader has led for less than its rate's window, so
	// Fires undercounts (leader only). Absent from older servers, which
	// leader balancing then trusts as before.
	Warming bool `json:"warming,omitempty"`
}

// reportReply is the meta leader's answer: the cluster view.
type reportReply struct {
	MetaLeader   string                    `json:"meta_leader"`
	AckedVersion uint64                    `json:"acked_version"`
	NeedClients  bool                      `json:"need_clients,omitempty"`
	Leaders      map[int]string            `json:"leaders"`
	Voters       map[int][]string          `json:"voters"`
	Applied      map[int]map[string]uint64 `json:"applied"`
	ShardJobs    map[int]int64             `json:"shard_jobs"`
	Loads        map[string]api.Load       `json:"loads"`
	Directory    map[string]dirEntry       `json:"directory,omitempty"`
}

// dirEntry is one server's client list.
type dirEntry struct {
	Version uint64                 `json:"version"`
	Clients []transport.ClientInfo `json:"clients"`
}
