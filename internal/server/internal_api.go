package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

// The internal API carries server-to-server traffic over the same HTTP
// listener: joins, reports, fires and client events forwarded to the
// shard leader, and per-shard reads for scatter-gather requests.

type joinRequest struct {
	NodeID string `json:"node_id"`
	Raft   string `json:"raft"`
	HTTP   string `json:"http"`
	Gossip string `json:"gossip,omitempty"`
}

type joinReply struct {
	ClusterID string `json:"cluster_id"`
}

type fireItem struct {
	Client string         `json:"client"`
	Fire   *protocol.Fire `json:"fire"`
}

type firesRequest struct {
	Items []fireItem `json:"items"`
}

type firesReply struct {
	Errors []string `json:"errors"`
}

type eventsRequest struct {
	Acks    []clientAck     `json:"acks,omitempty"`
	Results []clientResult  `json:"results,omitempty"`
	Running []clientRunning `json:"running,omitempty"`
}

type clientAck struct {
	Client string        `json:"client"`
	Ack    *protocol.Ack `json:"ack"`
}

type clientResult struct {
	Client string           `json:"client"`
	Result *protocol.Result `json:"result"`
}

type clientRunning struct {
	Client  string           `json:"client"`
	Running protocol.Running `json:"running"`
}

type eventsReply struct {
	Committed []bool `json:"committed"`
}

type killRequest struct {
	Client string         `json:"client"`
	Kill   *protocol.Kill `json:"kill"`
}

type leaveRequest struct {
	NodeID string `json:"node_id"`
}

type groupRequest struct {
	Group  string `json:"group"`
	Paused bool   `json:"paused"`
}

func (s *Server) internalRoutes(a *transport.API) {
	a.Handle("POST /v1/server/leave", http.HandlerFunc(s.handleServerLeave))
	a.Handle("POST /v1/internal/join", s.peerOnly(s.handleJoin))
	a.Handle("POST /v1/internal/report", s.peerOnly(s.handleReport))
	a.Handle("POST /v1/internal/fires", s.peerOnly(s.handleFires))
	a.Handle("POST /v1/internal/events", s.peerOnly(s.handleEvents))
	a.Handle("POST /v1/internal/kill", s.peerOnly(s.handleKill))
	a.Handle("POST /v1/internal/leave", s.peerOnly(s.handleLeave))
	a.Handle("GET /v1/internal/shards/{n}/jobs", s.peerOnly(s.handleShardJobs))
	a.Handle("POST /v1/internal/shards/{n}/group", s.peerOnly(s.handleShardGroup))
	a.Handle("GET /v1/internal/shards/{n}/digest", s.peerOnly(s.handleShardDigest))
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(v); err != nil {
		writeErr(w, api.Invalid("", "decode: %v", err))
		return false
	}
	return true
}

func writeOK(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	e := api.AsError(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(api.ErrorBody{Error: e})
}

// handleJoin (meta leader) records a server and adds it to the meta group
// as a non-voter; placement promotes meta voters and gives it replicas.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := api.CheckName("node_id", req.NodeID); err != nil {
		writeErr(w, err)
		return
	}
	if !s.metaGroup.IsLeader() {
		writeErr(w, api.Unavailable("not the meta leader"))
		return
	}
	st := s.meta.State()
	if old, ok := st.Servers[req.NodeID]; ok && old.State == fsm.ServerLeft {
		writeErr(w, &api.Error{Code: api.CodeConflict, Message: "server " + req.NodeID + " left the cluster; start it with a new data dir", Status: http.StatusConflict})
		return
	}
	info := &fsm.ServerInfo{ID: req.NodeID, RaftAddr: req.Raft, HTTPAddr: req.HTTP, Gossip: req.Gossip, State: fsm.ServerAlive}
	err := s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaUpsertServer, NowMS: s.clock.Now().UnixMilli(), Server: info})
	if err != nil {
		writeErr(w, proposeError(err))
		return
	}
	if err := s.ensureMetaMember(req.NodeID, req.Raft); err != nil {
		writeErr(w, proposeError(err))
		return
	}
	s.log.Info("server joined", "server", req.NodeID, "raft", req.Raft, "http", req.HTTP)
	writeOK(w, joinReply{ClusterID: s.meta.State().ClusterID})
}

// ensureMetaMember adds a server to the meta group as a non-voter unless
// it is a member already.
func (s *Server) ensureMetaMember(id, addr string) error {
	fut := s.metaGroup.Raft.GetConfiguration()
	if err := fut.Error(); err != nil {
		return err
	}
	for _, srv := range fut.Configuration().Servers {
		if string(srv.ID) == id {
			if string(srv.Address) == addr {
				return nil
			}
			break
		}
	}
	return s.metaGroup.Raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error()
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	var rep report
	if !readJSON(w, r, &rep) {
		return
	}
	if !s.metaGroup.IsLeader() {
		writeErr(w, api.Unavailable("not the meta leader"))
		return
	}
	writeOK(w, s.view.accept(&rep, s.id.NodeID, s.clock.Now()))
}

// handleFires delivers fires to clients connected here.
func (s *Server) handleFires(w http.ResponseWriter, r *http.Request) {
	var req firesRequest
	if !readJSON(w, r, &req) {
		return
	}
	out := firesReply{Errors: make([]string, len(req.Items))}
	for i, it := range req.Items {
		if err := s.hub.Deliver(it.Client, it.Fire); err != nil {
			out.Errors[i] = err.Error()
		}
	}
	writeOK(w, out)
}

// handleEvents passes clients' acks and results to the local fire loops;
// it answers once each result is committed (or not).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	var req eventsRequest
	if !readJSON(w, r, &req) {
		return
	}
	ev := hubEvents{s}
	for _, a := range req.Acks {
		ev.ackLocal(a.Client, a.Ack)
	}
	for _, run := range req.Running {
		ev.runningLocal(run.Client, run.Running)
	}
	out := eventsReply{Committed: make([]bool, len(req.Results))}
	done := make(chan struct{}, len(req.Results))
	for i, res := range req.Results {
		ev.resultLocal(res.Client, res.Result, func(err error) {
			out.Committed[i] = err == nil
			done <- struct{}{}
		})
	}
	ctx, cancel := context.WithTimeout(r.Context(), peerTimeout)
	defer cancel()
	for range req.Results {
		select {
		case <-done:
		case <-ctx.Done():
			writeErr(w, api.Unavailable("results not committed in time"))
			return
		}
	}
	writeOK(w, out)
}

func (s *Server) handleKill(w http.ResponseWriter, r *http.Request) {
	var req killRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.hub.Kill(req.Client, req.Kill); err != nil {
		writeErr(w, api.Unavailable("client %s: %v", req.Client, err))
		return
	}
	writeOK(w, struct{}{})
}

// handleLeave (meta leader) marks a server leaving: placement moves its
// replicas and leaderships elsewhere.
func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) {
	var req leaveRequest
	if !readJSON(w, r, &req) {
		return
	}
	if !s.metaGroup.IsLeader() {
		writeErr(w, api.Unavailable("not the meta leader"))
		return
	}
	err := s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaServerState, NowMS: s.clock.Now().UnixMilli(), Name: req.NodeID, State: fsm.ServerLeaving})
	if err != nil {
		writeErr(w, proposeError(err))
		return
	}
	s.log.Info("server leaving", "server", req.NodeID)
	writeOK(w, struct{}{})
}

func (s *Server) handleShardJobs(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		writeErr(w, api.Invalid("n", "not a shard"))
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	jobs, err := (&backend{s: s}).localJobs(n, q.Get("group"), q.Get("after"), max(limit, 1))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeOK(w, api.JobList{Jobs: jobs})
}

func (s *Server) handleShardGroup(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		writeErr(w, api.Invalid("n", "not a shard"))
		return
	}
	var req groupRequest
	if !readJSON(w, r, &req) {
		return
	}
	count, err := (&backend{s: s}).localGroup(n, req.Group, req.Paused)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeOK(w, map[string]int{"count": count})
}

// handleServerLeave is the public "swarm server leave": this server asks
// to be drained.
func (s *Server) handleServerLeave(w http.ResponseWriter, r *http.Request) {
	if err := s.requestLeave(r.Context()); err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(api.LeaveResponse{Server: s.id.NodeID})
}

// shardDigest is this server's replica's applied index and state digest.
type shardDigest struct {
	Shard   int    `json:"shard"`
	Server  string `json:"server"`
	Applied uint64 `json:"applied"`
	Digest  string `json:"digest"`
	Leader  bool   `json:"leader"`
}

// handleShardDigest answers with the local replica's digest, for checking
// that replicas converge (the fault-injection suite compares them).
func (s *Server) handleShardDigest(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	rn := s.runner(n)
	if err != nil || rn == nil {
		writeErr(w, api.NotFound("no replica of shard %s here", r.PathValue("n")))
		return
	}
	applied, sum, err := rn.Shard.Digest()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeOK(w, shardDigest{Shard: n, Server: s.id.NodeID, Applied: applied, Digest: sum, Leader: rn.Group.IsLeader()})
}

func writeJSONBody(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }
