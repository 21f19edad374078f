package server

import (
	"context"
	"fmt"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

// perform hands a fire to the performer of its kind (http, kafka); what
// the performer reports flows to the fire loop like a worker's messages.
func (s *Server) perform(ctx context.Context, kind string, f *protocol.Fire) error {
	p, ok := s.performers[kind]
	if !ok {
		return api.Unavailable("perform kind %q is not available on this server", kind)
	}
	return p.Perform(ctx, f, performReport{s: s, client: performTarget(kind)})
}

// performReport passes a performer's ack and result to the execution's
// shard leader, as the hub does for a worker.
type performReport struct {
	s      *Server
	client string
}

func (r performReport) Ack(a *protocol.Ack) { hubEvents{r.s}.Ack(r.client, a) }

func (r performReport) Result(res *protocol.Result, done func(error)) {
	hubEvents{r.s}.Result(r.client, res, done)
}

// openPerformers builds the performers this server offers.
func (s *Server) openPerformers() error {
	s.performers = map[string]transport.Performer{}
	for kind, mk := range performerFactories {
		p, err := mk(s)
		if err != nil {
			return fmt.Errorf("open %s performer: %w", kind, err)
		}
		s.performers[kind] = p
	}
	return nil
}

// performerFactories makes the performers by kind.
var performerFactories = map[string]func(s *Server) (transport.Performer, error){}

func (s *Server) closePerformers() {
	for kind, p := range s.performers {
		if err := p.Close(); err != nil {
			s.log.Warn("close performer", "kind", kind, "error", err)
		}
	}
}
