package server

import (
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/transport"
)

// The http and kafka performers, with their defaults: every server offers
// both, and opens a Kafka producer only when a kafka job fires.
func init() {
	performerFactories[api.PerformHTTP] = func(s *Server) (transport.Performer, error) {
		return transport.NewHTTPPerformer(transport.HTTPPerformerConfig{
			Logger:    s.log.With("perform", api.PerformHTTP),
			UserAgent: "swarm/" + s.cfg.Version,
		})
	}
	performerFactories[api.PerformKafka] = func(s *Server) (transport.Performer, error) {
		return transport.NewKafkaPerformer(transport.KafkaPerformerConfig{
			Logger:   s.log.With("perform", api.PerformKafka),
			ClientID: "swarm-" + s.id.NodeID,
		})
	}
}
