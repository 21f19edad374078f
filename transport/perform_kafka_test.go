package transport_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
	"github.com/swarmsched/swarm/transport"
)

const testTopic = "swarm-fires"

func newKafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func kafkaFire(id string, brokers []string) *protocol.Fire {
	f := httpFire(id, "")
	f.Perform = &api.Perform{Kind: api.PerformKafka, Brokers: brokers, Topic: testTopic}
	return f
}

func newKafkaPerformer(t *testing.T, cfg transport.KafkaPerformerConfig) *transport.KafkaPerformer {
	t.Helper()
	p, err := transport.NewKafkaPerformer(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// consumeAll reads n records of the test topic from its start.
func consumeAll(t *testing.T, brokers []string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(testTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "only %d of %d records within 10s", len(out), n)
		out = append(out, fs.Records()...)
	}
	return out
}

func TestKafkaPerformerProducesTheFireThenAcks(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	p := newKafkaPerformer(t, transport.KafkaPerformerConfig{})
	rep := newReports()

	f := kafkaFire("e-k1", k.ListenAddrs())
	require.NoError(t, p.Perform(context.Background(), f, rep))

	// The ack is reported before Perform returns: the brokers have it.
	require.Len(t, rep.acks, 1)
	require.Equal(t, &protocol.Ack{ExecID: "e-k1", Attempt: 2, Accepted: true}, <-rep.acks)
	rep.requireNoResult(t)

	recs := consumeAll(t, k.ListenAddrs(), 1)
	require.Len(t, recs, 1)
	rec := recs[0]
	require.Equal(t, "e-k1", string(rec.Key))
	var got protocol.Fire
	require.NoError(t, json.Unmarshal(rec.Value, &got))
	require.Equal(t, f.ExecID, got.ExecID)
	require.Equal(t, f.Attempt, got.Attempt)
	require.Equal(t, f.Executor, got.Executor)
	require.Equal(t, f.Perform, got.Perform)
	headers := map[string]string{}
	for _, h := range rec.Headers {
		headers[h.Key] = string(h.Value)
	}
	require.Equal(t, map[string]string{"content-type": "application/json", "swarm-attempt": "2"}, headers)
}

func TestKafkaPerformerKeepsAResentFireOnOnePartition(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	p := newKafkaPerformer(t, transport.KafkaPerformerConfig{})
	rep := newReports()

	for range 3 {
		require.NoError(t, p.Perform(context.Background(), kafkaFire("e-again", k.ListenAddrs()), rep))
	}
	recs := consumeAll(t, k.ListenAddrs(), 3)
	for _, r := range recs {
		require.Equal(t, recs[0].Partition, r.Partition, "one key, one partition: one consumer sees every copy")
	}
}

func TestKafkaPerformerFailsWhenNoBrokerAnswers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	p := newKafkaPerformer(t, transport.KafkaPerformerConfig{ProduceTimeout: 300 * time.Millisecond})
	rep := newReports()

	err = p.Perform(context.Background(), kafkaFire("e-down", []string{addr}), rep)
	require.ErrorContains(t, err, "produce e-down to kafka topic swarm-fires")
	require.Empty(t, rep.acks, "not handed over: no ack")
}

func TestKafkaPerformerFailsForAMissingTopic(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	p := newKafkaPerformer(t, transport.KafkaPerformerConfig{ProduceTimeout: 500 * time.Millisecond})
	rep := newReports()

	f := kafkaFire("e-nowhere", k.ListenAddrs())
	f.Perform.Topic = "no-such-topic"
	err := p.Perform(context.Background(), f, rep)
	require.ErrorContains(t, err, "produce e-nowhere to kafka topic no-such-topic: not acknowledged within 500ms")
	require.Empty(t, rep.acks)
}

func TestKafkaPerformerBoundsItsProducers(t *testing.T) {
	t.Parallel()
	k1, k2 := newKafka(t), newKafka(t)
	p := newKafkaPerformer(t, transport.KafkaPerformerConfig{MaxProducers: 1})
	rep := newReports()

	require.NoError(t, p.Perform(context.Background(), kafkaFire("e-1", k1.ListenAddrs()), rep))
	err := p.Perform(context.Background(), kafkaFire("e-2", k2.ListenAddrs()), rep)
	require.ErrorIs(t, err, transport.ErrPerformerBusy)
	twice := append(k1.ListenAddrs(), k1.ListenAddrs()...)
	require.NoError(t, p.Perform(context.Background(), kafkaFire("e-3", twice), rep), "the same brokers share the producer")
}

func TestKafkaPerformerRefusesAfterClose(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	p := newKafkaPerformer(t, transport.KafkaPerformerConfig{})
	rep := newReports()
	require.NoError(t, p.Perform(context.Background(), kafkaFire("e-1", k.ListenAddrs()), rep))

	require.NoError(t, p.Close())
	require.ErrorIs(t, p.Perform(context.Background(), kafkaFire("e-2", k.ListenAddrs()), rep), transport.ErrPerformerClosed)
}

func TestKafkaPerformerConfigNamesTheBadField(t *testing.T) {
	t.Parallel()
	_, err := transport.NewKafkaPerformer(transport.KafkaPerformerConfig{ProduceTimeout: -1})
	require.ErrorContains(t, err, "ProduceTimeout:")
	_, err = transport.NewKafkaPerformer(transport.KafkaPerformerConfig{MaxProducers: -1})
	require.ErrorContains(t, err, "MaxProducers:")
}
