package server

import "net/http"

// authorizePeer signs a request to another server with the cluster key.
func (s *Server) authorizePeer(req *http.Request, body []byte) { s.signPeer(req, body) }

// peerOnly guards an internal endpoint: only a server holding the cluster
// key may call it.
func (s *Server) peerOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.verifyPeer(r); err != nil {
			writeErr(w, err)
			return
		}
		h(w, r)
	})
}
