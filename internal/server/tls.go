package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"
)

// loadTLS reads the certificate, key and CA files of Config. The HTTP API
// (and workers' WebSockets) serve TLS; Raft connections use mutual TLS:
// each side presents its certificate and verifies the other's against the
// CA.
func (s *Server) loadTLS() error {
	c := s.cfg
	if c.TLSCert == "" && c.TLSKey == "" {
		if c.TLSCA != "" {
			return fmt.Errorf("tls-ca: needs --tls-cert and --tls-key")
		}
		return nil
	}
	if c.TLSCert == "" || c.TLSKey == "" {
		return fmt.Errorf("tls-cert, tls-key: both are required")
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return fmt.Errorf("tls-cert: %w", err)
	}
	pool, err := loadCA(c.TLSCA)
	if err != nil {
		return err
	}
	s.tlsServer = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	s.tlsClient = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	s.peers.useTLS(s.tlsClient)
	s.tlsRaft = s.tlsServer.Clone()
	s.tlsRaft.ClientAuth = tls.RequireAndVerifyClientCert
	if pool == nil {
		s.tlsRaft.ClientAuth = tls.RequireAnyClientCert
	}
	return nil
}

// loadCA reads a PEM bundle; an empty path means the system's roots.
func loadCA(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls-ca: no certificate in %s", path)
	}
	return pool, nil
}

// tlsDialer dials Raft peers over TLS.
func (s *Server) tlsDialer(addr string, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, s.tlsClient)
}
