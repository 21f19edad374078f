package transport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/swarmsched/swarm/protocol"
)

// Defaults of the kafka performer.
const (
	// DefaultKafkaProduceTimeout bounds one produce, from Perform to the
	// broker's acknowledgement. The shard's release loop waits that long
	// at most for a broker that does not answer.
	DefaultKafkaProduceTimeout = 5 * time.Second

	// DefaultKafkaMaxProducers bounds the producers kept, one per
	// distinct broker list.
	DefaultKafkaMaxProducers = 32
)

// Record headers of a fire produced to Kafka. The key is the execution id
// and the value the fire as JSON (docs/protocol.md, "Fires over Kafka").
const (
	KafkaHeaderContentType = "content-type"
	KafkaHeaderAttempt     = "swarm-attempt"
)

// KafkaPerformerConfig configures a KafkaPerformer. The zero value is
// usable.
type KafkaPerformerConfig struct {
	// Logger defaults to discarding.
	Logger *slog.Logger

	// ClientID names the producers to the brokers. Defaults to "swarm".
	ClientID string

	// ProduceTimeout defaults to DefaultKafkaProduceTimeout.
	ProduceTimeout time.Duration

	// MaxProducers defaults to DefaultKafkaMaxProducers.
	MaxProducers int

	// Options are added to every producer's (TLS, SASL).
	Options []kgo.Opt
}

// Validate names the first invalid field.
func (c KafkaPerformerConfig) Validate() error {
	switch {
	case c.ProduceTimeout < 0:
		return errors.New("kafka performer: ProduceTimeout: must not be negative")
	case c.MaxProducers < 0:
		return errors.New("kafka performer: MaxProducers: must not be negative")
	}
	return nil
}

func (c KafkaPerformerConfig) withDefaults() KafkaPerformerConfig {
	c.ClientID = cmp.Or(c.ClientID, "swarm")
	c.ProduceTimeout = cmp.Or(c.ProduceTimeout, DefaultKafkaProduceTimeout)
	c.MaxProducers = cmp.Or(c.MaxProducers, DefaultKafkaMaxProducers)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// KafkaPerformer performs the fires of kafka jobs: it produces each fire to
// the job's topic and, once the brokers have it, reports it accepted on
// behalf of the cluster. The worker that consumes it reports its own ack
// and result over its WebSocket.
type KafkaPerformer struct {
	cfg KafkaPerformerConfig
	log *slog.Logger

	mu        sync.Mutex
	producers map[string]*kgo.Client // by sorted, comma-joined brokers
	closed    bool
}

var _ Performer = (*KafkaPerformer)(nil)

// NewKafkaPerformer returns a performer for cfg, or the error of
// cfg.Validate. It connects to no broker until a fire needs one.
func NewKafkaPerformer(cfg KafkaPerformerConfig) (*KafkaPerformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &KafkaPerformer{cfg: cfg, log: cfg.Logger, producers: map[string]*kgo.Client{}}, nil
}

// Perform produces f and returns once the brokers acknowledged it; an
// error means they did not, and the leader tries again. A resend produces
// the record again: the consumer drops the duplicate by (exec_id,
// attempt), which the record key keeps on one partition.
func (p *KafkaPerformer) Perform(ctx context.Context, f *protocol.Fire, report PerformReport) error {
	if f.Perform == nil || len(f.Perform.Brokers) == 0 || f.Perform.Topic == "" {
		// The job's validation requires both; a fire without is a bug.
		return fmt.Errorf("perform %s: fire has no kafka brokers or topic", f.ExecID)
	}
	cl, err := p.producer(f.Perform.Brokers)
	if err != nil {
		return fmt.Errorf("perform %s: %w", f.ExecID, err)
	}
	rec, err := fireRecord(f)
	if err != nil {
		return fmt.Errorf("perform %s: %w", f.ExecID, err)
	}

	ctx, cancel := context.WithTimeout(ctx, p.cfg.ProduceTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			// kgo retries a missing topic or a silent broker until then.
			err = fmt.Errorf("not acknowledged within %s: %w", p.cfg.ProduceTimeout, err)
		}
		return fmt.Errorf("produce %s to kafka topic %s: %w", f.ExecID, f.Perform.Topic, err)
	}

	p.log.Debug("fire produced to kafka", "exec_id", f.ExecID, "attempt", f.Attempt, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset)
	report.Ack(&protocol.Ack{ExecID: f.ExecID, Attempt: f.Attempt, Accepted: true})
	return nil
}

// fireRecord renders f as the record a worker consumes.
func fireRecord(f *protocol.Fire) (*kgo.Record, error) {
	value, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode fire: %w", err)
	}
	return &kgo.Record{
		Topic: f.Perform.Topic,
		Key:   []byte(f.ExecID),
		Value: value,
		Headers: []kgo.RecordHeader{
			{Key: KafkaHeaderContentType, Value: []byte("application/json")},
			{Key: KafkaHeaderAttempt, Value: []byte(strconv.Itoa(f.Attempt))},
		},
	}, nil
}

// producer returns the producer of a broker list, made on first use.
func (p *KafkaPerformer) producer(brokers []string) (*kgo.Client, error) {
	sorted := slices.Compact(slices.Sorted(slices.Values(brokers)))
	key := strings.Join(sorted, ",")

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPerformerClosed
	}
	if cl := p.producers[key]; cl != nil {
		return cl, nil
	}
	// TODO: producers of broker lists no job names any more are kept
	// until Close; past MaxProducers distinct lists, fires are refused.
	if len(p.producers) >= p.cfg.MaxProducers {
		return nil, fmt.Errorf("%w: %d distinct kafka broker lists in use", ErrPerformerBusy, len(p.producers))
	}

	opts := append([]kgo.Opt{
		kgo.SeedBrokers(sorted...),
		kgo.ClientID(p.cfg.ClientID),
		// A record already sent when ProduceSync gives up is bounded by
		// this (kgo's floor is a second).
		kgo.RecordDeliveryTimeout(max(p.cfg.ProduceTimeout, time.Second)),
	}, p.cfg.Options...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer for %s: %w", key, err)
	}
	p.producers[key] = cl
	p.log.Info("kafka producer opened", "brokers", key)
	return cl, nil
}

// Close closes every producer; a produce under way fails.
func (p *KafkaPerformer) Close() error {
	p.mu.Lock()
	producers := p.producers
	p.producers, p.closed = map[string]*kgo.Client{}, true
	p.mu.Unlock()

	for _, cl := range producers {
		cl.Close()
	}
	return nil
}
