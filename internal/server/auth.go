package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/protocol"
)

// Authentication and authorization.
//
// Users and workers present API tokens ("Authorization: Bearer swt_..."),
// checked against the hashes the meta group keeps. Servers sign their
// internal calls with the cluster key (peerHeader), so a token is never
// needed between servers and a stranger cannot call an internal endpoint.

const (
	tokenPrefix = "swt_"

	// peerHeader carries "unix-ms:hex-hmac" over the method, the request
	// URI, the time and the body's hash.
	peerHeader = "X-Swarm-Peer-Auth"
	peerSkew   = time.Minute

	adminTokenFile = "admin.token"
)

var (
	errNoToken  = &api.Error{Code: api.CodeUnauthenticated, Message: "an API token is required: pass --token or set $SWARM_TOKEN", Status: http.StatusUnauthorized}
	errBadToken = &api.Error{Code: api.CodeUnauthenticated, Message: "the API token is not valid (revoked, or not of this cluster)", Status: http.StatusUnauthorized}
)

func forbidden(format string, args ...any) *api.Error {
	return &api.Error{Code: api.CodeForbidden, Message: fmt.Sprintf(format, args...), Status: http.StatusForbidden}
}

// derivedKey turns the cluster secret into the 32-byte key every use
// needs (HMAC, memberlist's AES key).
func derivedKey(secret []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	sum := sha256.Sum256(append([]byte("swarm-cluster-key:"), secret...))
	return sum[:]
}

// newToken makes a token: the id names it, the secret proves it.
func newToken(role, name string, groups []string) (secret string, t *fsm.Token) {
	id := fmt.Sprintf("%016x", randUint64())
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	sec := hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(sec))
	return tokenPrefix + id + "_" + sec, &fsm.Token{ID: id, Name: name, Role: role, Groups: groups, Hash: hex.EncodeToString(sum[:])}
}

// tokenOf checks the bearer token of r against the cluster's tokens.
func (s *Server) tokenOf(r *http.Request) (*fsm.Token, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoToken
	}
	bearer, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, errBadToken
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(bearer), tokenPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 {
		return nil, errBadToken
	}
	t, ok := s.meta.State().Tokens[id]
	if !ok {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(secret))
	want, err := hex.DecodeString(t.Hash)
	if err != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return nil, errBadToken
	}
	return t, nil
}

// authorize decides whether r may be served; it runs before routing.
func (s *Server) authorize(r *http.Request) error {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/" || strings.HasPrefix(p, "/ui/") || p == "/v1/version":
		return nil // the dashboard's files are public; its API calls are not
	case strings.HasPrefix(p, "/v1/internal/"):
		return nil // peerOnly checks the cluster key signature
	case !s.cfg.Auth:
		return nil
	case p == "/v1/connect":
		return nil // the hub checks the token against the hello's group
	}
	t, err := s.tokenOf(r)
	if err != nil {
		return err
	}
	return allowed(t, r.Method, p)
}

// allowed applies the roles to a request.
func allowed(t *fsm.Token, method, path string) error {
	read := method == http.MethodGet || method == http.MethodHead || path == "/v1/triggers:preview"
	admin := strings.HasPrefix(path, "/v1/tokens") || strings.HasPrefix(path, "/v1/server/") || strings.HasPrefix(path, "/v1/snapshot") ||
		strings.HasPrefix(path, "/debug/")
	switch t.Role {
	case api.RoleAdmin:
		return nil
	case api.RoleOperator:
		if admin {
			return forbidden("an operator token may not manage tokens, servers or snapshots, or profile a server")
		}
		return nil
	case api.RoleReader:
		if !read || admin {
			return forbidden("a reader token may only read")
		}
		return nil
	}
	return forbidden("a %s token may only connect workers", t.Role)
}

// authorizeWorker checks a worker's token against the group it registers
// for: a client token serves only its groups, an admin token any.
func (s *Server) authorizeWorker(r *http.Request, hello *protocol.Hello) error {
	if !s.cfg.Auth {
		return nil
	}
	t, err := s.tokenOf(r)
	if err != nil {
		return err
	}
	switch {
	case t.Role == api.RoleAdmin:
		return nil
	case t.Role == api.RoleClient && slices.Contains(t.Groups, hello.Group):
		return nil
	case t.Role == api.RoleClient:
		return forbidden("this token may serve groups %v, not %q", t.Groups, hello.Group)
	}
	return forbidden("a %s token may not connect a worker", t.Role)
}

// peerMAC signs an internal call.
func peerMAC(key []byte, method, uri string, ms int64, body []byte) string {
	sum := sha256.Sum256(body)
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s\n%s\n%d\n", method, uri, ms)
	h.Write(sum[:])
	return hex.EncodeToString(h.Sum(nil))
}

// signPeer signs an internal call with the cluster key.
func (s *Server) signPeer(req *http.Request, body []byte) {
	if s.key == nil {
		return
	}
	ms := s.clock.Now().UnixMilli()
	req.Header.Set(peerHeader, strconv.FormatInt(ms, 10)+":"+peerMAC(s.key, req.Method, req.URL.RequestURI(), ms, body))
}

// verifyPeer checks an internal call's signature; the body stays readable.
func (s *Server) verifyPeer(r *http.Request) error {
	if s.key == nil {
		if s.cfg.Auth {
			return forbidden("internal endpoints need --cluster-key when --auth is on")
		}
		return nil
	}
	msStr, mac, ok := strings.Cut(r.Header.Get(peerHeader), ":")
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if !ok || err != nil {
		return forbidden("internal endpoint: not signed with the cluster key")
	}
	if d := s.clock.Now().Sub(time.UnixMilli(ms)); d > peerSkew || d < -peerSkew {
		return forbidden("internal endpoint: signature time is %s off; are the clocks in sync?", d.Round(time.Second))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return api.Invalid("", "read body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	want := peerMAC(s.key, r.Method, r.URL.RequestURI(), ms, body)
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return forbidden("internal endpoint: bad signature (is --cluster-key the same on every server?)")
	}
	return nil
}

// bootstrapAdminToken makes the first admin token of a new cluster with
// auth on, and writes it to a file only the server's user can read: it is
// never logged.
func (s *Server) bootstrapAdminToken() error {
	if !s.cfg.Auth || len(s.meta.State().Tokens) > 0 {
		return nil
	}
	secret, t := newToken(api.RoleAdmin, "bootstrap admin", nil)
	err := s.metaGroup.ProposeMeta(&fsm.MetaCommand{Type: fsm.MetaPutToken, NowMS: s.clock.Now().UnixMilli(), Token: t})
	if err != nil {
		return fmt.Errorf("create admin token: %w", err)
	}
	path := filepath.Join(s.cfg.DataDir, adminTokenFile)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	s.log.Info("admin token created", "file", path)
	return nil
}
