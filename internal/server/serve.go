package server

import (
	"errors"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"time"

	"github.com/swarmsched/swarm/internal/metrics"
	"github.com/swarmsched/swarm/transport"
	"github.com/swarmsched/swarm/transport/ui"
)

// openHub prepares the worker hub, the live log store and the dispatcher
// that fire loops use; it runs before the shards open.
func (s *Server) openHub() error {
	var err error
	s.logs, err = newLogStore(filepath.Join(s.cfg.DataDir, "logs"), s.log)
	if err != nil {
		return err
	}
	s.hub, err = transport.NewHub(transport.HubConfig{
		ServerID:  s.id.NodeID,
		Heartbeat: s.cfg.Heartbeat,
		Events:    hubEvents{s},
		Authorize: s.authorizeWorker,
		Metrics:   s.metrics,
		Logger:    s.log.With("component", "hub"),
	})
	if err != nil {
		return err
	}
	s.dispatch = newDispatcher(s)
	return s.openNotifier()
}

// openNotifier prepares the alert webhooks that fire loops call.
func (s *Server) openNotifier() error {
	cfg := s.Notify
	cfg.UserAgent = "swarm/" + s.cfg.Version
	cfg.Metrics = s.metrics
	cfg.Logger = s.log.With("component", "notify")
	var err error
	s.notifier, err = transport.NewNotifier(cfg)
	return err
}

// serve starts the HTTP API and the housekeeping loop.
func (s *Server) serve() error {
	s.api = transport.NewAPI(&backend{s: s}, s.cfg.Version, s.log.With("component", "api"))
	s.api.SetMetrics(s.metrics)
	s.api.Handle("GET /v1/connect", s.hub)
	s.api.Handle("GET /metrics", s.metrics.Handler())
	debugRoutes(s.api)
	s.api.Handle("GET /ui/", ui.Handler())
	s.api.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	s.internalRoutes(s.api)
	s.tokenRoutes(s.api)
	s.snapshotRoutes(s.api)
	s.api.SetReady(s.ready)
	s.metrics.SetSampler(s.sample)
	s.httpSrv = &http.Server{
		Handler:           newRouter(s, s.api),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "error", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.housekeeping()
	}()
	return nil
}

// sample reads what a scrape of /metrics reports besides the counters.
func (s *Server) sample() metrics.Sample {
	out := metrics.Sample{MetaLeader: s.metaGroup.IsLeader()}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for n, rn := range s.runners {
		sh := metrics.ShardSample{ID: n, Group: rn.Group.Name, Leader: rn.Group.IsLeader(), Jobs: rn.Shard.JobCount(), StoreBytes: rn.Shard.SizeBytes()}
		if f := rn.Firer(); f != nil {
			sh.Pending = f.Pending()
		}
		out.Shards = append(out.Shards, sh)
	}
	return out
}

// housekeeping runs periodic local chores until Stop.
func (s *Server) housekeeping() {
	t := time.NewTicker(logSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.logs.sweep(now)
		}
	}
}

// Handler exposes the HTTP handler (tests mount it on their own server).
func (s *Server) Handler() http.Handler { return s.api }

// ready reports whether the server serves: it knows the cluster and has
// opened its replicas.
func (s *Server) ready() error {
	if !s.started.Load() {
		return errors.New("starting")
	}
	return nil
}

// debugRoutes serves Go's profiles (admin only with auth on), to see where
// a server's time goes under a load that cannot be reproduced in a test.
func debugRoutes(a *transport.API) {
	a.Handle("GET /debug/pprof/", http.HandlerFunc(pprof.Index))
	a.Handle("GET /debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline))
	a.Handle("GET /debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	a.Handle("GET /debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	a.Handle("GET /debug/pprof/trace", http.HandlerFunc(pprof.Trace))
}
