package server

import (
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/transport"
)

// tokenRoutes serves /v1/tokens (admin only, see allowed). Token writes go
// to the meta leader (the router sends them there).
func (s *Server) tokenRoutes(a *transport.API) {
	a.Handle("POST /v1/tokens", http.HandlerFunc(s.createToken))
	a.Handle("GET /v1/tokens", http.HandlerFunc(s.listTokens))
	a.Handle("DELETE /v1/tokens/{id}", http.HandlerFunc(s.revokeToken))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeErr(w, api.Invalid("", "read body: %v", err))
		return
	}
	if err := transport.DecodeJSON(data, &req); err != nil {
		writeErr(w, err)
		return
	}
	if err := req.Validate(); err != nil {
		writeErr(w, err)
		return
	}
	secret, t := newToken(req.Role, req.Name, req.Groups)
	if err := (&backend{s: s}).proposeMeta(&fsm.MetaCommand{Type: fsm.MetaPutToken, Token: t}); err != nil {
		writeErr(w, err)
		return
	}
	out := tokenView(t)
	out.Secret = secret
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSONBody(w, out)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	st := s.meta.State()
	out := api.TokenList{Tokens: []api.Token{}}
	for _, t := range st.Tokens {
		out.Tokens = append(out.Tokens, tokenView(t))
	}
	sort.Slice(out.Tokens, func(i, j int) bool { return out.Tokens[i].ID < out.Tokens[j].ID })
	writeOK(w, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := (&backend{s: s}).proposeMeta(&fsm.MetaCommand{Type: fsm.MetaRevokeToken, Name: r.PathValue("id")}); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func tokenView(t *fsm.Token) api.Token {
	return api.Token{ID: t.ID, Name: t.Name, Role: t.Role, Groups: t.Groups, CreatedAt: time.UnixMilli(t.CreatedMS).UTC()}
}
