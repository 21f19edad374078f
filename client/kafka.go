package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/logx"
	"github.com/swarmsched/swarm/protocol"
)

// Kafka consumer timing.
const (
	// kafkaCommitTimeout bounds committing the offsets of started fires.
	kafkaCommitTimeout = 10 * time.Second

	// kafkaLeaveTimeout bounds leaving the consumer group at the end.
	kafkaLeaveTimeout = 5 * time.Second

	// kafkaRetryDelay is the wait after a poll that failed, or a fire
	// that could not start for a local failure.
	kafkaRetryDelay = time.Second

	// ackQueue bounds the acks of consumed fires waiting for the
	// connection; more are dropped (the hello's running list and the
	// result still tell the server).
	ackQueue = 256
)

// kafkaTopicName is what Kafka accepts as a topic name.
var kafkaTopicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// validateKafka checks the Kafka fields: all or none.
func (c Config) validateKafka() error {
	switch {
	case c.KafkaTopic == "" && len(c.KafkaBrokers) > 0:
		return errors.New("client: KafkaTopic: is required with KafkaBrokers")
	case c.KafkaTopic == "" && c.KafkaGroup != "":
		return errors.New("client: KafkaGroup: needs KafkaTopic and KafkaBrokers")
	case c.KafkaTopic == "":
		return nil
	case len(c.KafkaBrokers) == 0:
		return errors.New("client: KafkaBrokers: at least one broker is required with KafkaTopic")
	case !kafkaTopicName.MatchString(c.KafkaTopic):
		return fmt.Errorf("client: KafkaTopic: %q must be 1-249 letters, digits, '.', '_' or '-'", c.KafkaTopic)
	case hasControl(c.KafkaGroup):
		return errors.New("client: KafkaGroup: must not contain control characters")
	}
	for i, b := range c.KafkaBrokers {
		if strings.TrimSpace(b) == "" || hasControl(b) || strings.ContainsAny(b, " ,") {
			return fmt.Errorf("client: KafkaBrokers[%d]: %q is not a host:port", i, b)
		}
	}
	return nil
}

// kafkaConsumer runs the fires of kafka jobs: it reads them from a topic
// in a consumer group and hands them to the client's runner, as the
// session does with the fires a server sends. The runner's capacity paces
// it: it fetches only as many records as there are free slots. A record's
// offset is committed once its fire started (or could never start), so a
// crash before that delivers it again, and the runner drops the duplicate.
type kafkaConsumer struct {
	c        *Client
	cl       *kgo.Client
	log      *slog.Logger
	pollFail logx.Limiter
}

// newKafkaConsumer makes the Kafka client, which joins the group at once;
// records are fetched for the runner only once run polls.
func newKafkaConsumer(c *Client) (*kafkaConsumer, error) {
	cfg := c.cfg
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.KafkaBrokers...),
		kgo.ClientID("swarm-client-"+c.id),
		kgo.ConsumerGroup(cfg.KafkaGroup),
		kgo.ConsumeTopics(cfg.KafkaTopic),
		// A new group reads the topic from its start: no fire is lost to
		// a group that did not exist yet.
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// No revoke between a poll and its commit: a fire is committed
		// only by the member that started it.
		kgo.BlockRebalanceOnPoll(),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	log := c.log.With("kafka_topic", cfg.KafkaTopic, "kafka_group", cfg.KafkaGroup)
	return &kafkaConsumer{c: c, cl: cl, log: log, pollFail: logx.Limiter{Interval: 30 * time.Second}}, nil
}

// run consumes until ctx is cancelled or the client begins to drain, then
// leaves the group. Records fetched and not started are not committed: the
// group delivers them again, to this member or another.
func (k *kafkaConsumer) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-k.c.drainCh:
		case <-k.c.abandonCh:
		case <-ctx.Done():
		}
		cancel()
	}()
	defer k.close()

	k.log.Info("kafka consumer started", "brokers", strings.Join(k.c.cfg.KafkaBrokers, ","))
	for {
		free, changed := k.c.runner.freeSlots()
		if free <= 0 {
			// Full: fetch nothing more until a run ends.
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return
			}
		}

		fetches := k.cl.PollRecords(ctx, free)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		backoff := k.pollErrors(fetches)
		if k.handle(ctx, fetches.Records()) {
			backoff = true
		}
		k.cl.AllowRebalance()

		if backoff && !waitCtx(ctx, kafkaRetryDelay) {
			return
		}
	}
}

// pollErrors logs the errors of a poll (rate-limited) and reports whether
// the poll brought errors only, so the loop waits before the next.
func (k *kafkaConsumer) pollErrors(fetches kgo.Fetches) bool {
	errs := fetches.Errors()
	if len(errs) == 0 {
		if k.pollFail.Recovered() {
			k.log.Info("kafka poll recovered")
		}
		return false
	}
	if ok, suppressed := k.pollFail.Allow(time.Now()); ok {
		e := errs[0]
		k.log.Warn("kafka poll failed", "topic", e.Topic, "partition", e.Partition, "errors", len(errs), "suppressed", suppressed, "error", e.Err)
	}
	return fetches.NumRecords() == 0
}

// verdict is what became of one record.
type verdict int

const (
	taken verdict = iota // started, a duplicate, or never runnable: commit it
	held                 // no room now: fetch it again later
	retry                // a local failure: fetch it again after a delay
)

// handle starts the fires of a poll in order, commits the records done
// with, and rewinds each partition to its first record held back. It
// reports whether to wait before the next poll.
func (k *kafkaConsumer) handle(ctx context.Context, recs []*kgo.Record) bool {
	var done []*kgo.Record
	rewind := map[string]map[int32]kgo.EpochOffset{}
	backoff := false
	for _, rec := range recs {
		if _, ok := rewind[rec.Topic][rec.Partition]; ok {
			continue // after a record held back: keep the partition's order
		}
		switch k.take(rec) {
		case taken:
			done = append(done, rec)
			continue
		case retry:
			backoff = true
		}
		if rewind[rec.Topic] == nil {
			rewind[rec.Topic] = map[int32]kgo.EpochOffset{}
		}
		rewind[rec.Topic][rec.Partition] = kgo.EpochOffset{Epoch: -1, Offset: rec.Offset}
	}

	if len(rewind) > 0 {
		k.cl.SetOffsets(rewind)
	}
	k.commit(ctx, done)
	return backoff
}

// take hands one record's fire to the runner.
func (k *kafkaConsumer) take(rec *kgo.Record) verdict {
	var f protocol.Fire
	if err := json.Unmarshal(rec.Value, &f); err != nil || f.ExecID == "" {
		// Skipped for good: a record that is not a fire must not stop
		// the partition.
		k.log.Warn("kafka record is not a fire, skipped", "partition", rec.Partition, "offset", rec.Offset, "error", err)
		return taken
	}

	ack := k.c.runner.offer(f, false)
	switch {
	case ack.Accepted:
		k.c.enqueueAck(ack)
		return taken
	case ack.Reason == reasonCapacity || ack.Reason == reasonDraining:
		return held
	case ack.Reason == reasonUnavailable:
		return retry
	}
	// No other member of the group is asked (the record is this one's),
	// so the refusal ends the run: it is reported failed with the reason.
	k.c.runner.refuseFire(f, ack.Reason)
	return taken
}

// commit commits the offsets of records done with. It runs even when ctx
// is cancelled: what started must not be delivered again.
func (k *kafkaConsumer) commit(ctx context.Context, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), kafkaCommitTimeout)
	defer cancel()
	if err := k.cl.CommitRecords(cctx, recs...); err != nil {
		// The group delivers them again; the runner drops what it holds
		// or remembers, another member runs them again.
		k.log.Warn("kafka commit failed", "records", len(recs), "error", err)
	}
}

// close leaves the group, bounded, and closes the Kafka client.
func (k *kafkaConsumer) close() {
	k.cl.AllowRebalance()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaLeaveTimeout)
	defer cancel()
	if err := k.cl.LeaveGroupContext(ctx); err != nil {
		k.log.Debug("kafka leave group", "error", err)
	}
	k.cl.Close()
	k.log.Info("kafka consumer stopped")
}

// waitCtx waits d, or less if ctx ends; it reports whether ctx is still live.
func waitCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// enqueueAck queues the ack of a consumed fire for the connection,
// dropping it when the queue is full.
func (c *Client) enqueueAck(a protocol.Ack) {
	select {
	case c.acks <- a:
	default:
		c.log.Debug("ack dropped, queue full", "exec_id", a.ExecID, "attempt", a.Attempt)
	}
}

// freeSlots returns how many more runs fit now (none while draining), and
// a channel closed at the next change of the runs.
func (r *runner) freeSlots() (int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return 0, r.changed
	}
	return r.cfg.Capacity - len(r.runs), r.changed
}

// refuseFire ends a fire that can never run here as a failed run, so its
// result reaches the server like any other.
func (r *runner) refuseFire(f protocol.Fire, reason string) {
	now := nowUTC()
	r.finish(protocol.Result{
		ExecID: f.ExecID, Attempt: f.Attempt, State: api.ExecFailed,
		Error: "refused: " + reason, StartedAt: now, FinishedAt: now,
	}, 0)
}
