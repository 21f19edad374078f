package client

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client/clienttest"
	"github.com/swarmsched/swarm/protocol"
)

const testTopic = "swarm-fires"

// newKafka starts an in-process Kafka with one single-partition topic, so
// records keep their order.
func newKafka(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, testTopic))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// produce writes fires to the topic as the kafka performer does.
func produce(t *testing.T, k *kfake.Cluster, fires ...protocol.Fire) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	for _, f := range fires {
		v, err := json.Marshal(f)
		require.NoError(t, err)
		produceRaw(t, cl, f.ExecID, v)
	}
}

func produceRaw(t *testing.T, cl *kgo.Client, key string, value []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: testTopic, Key: []byte(key), Value: value}).FirstErr())
}

func kafkaConfig(t *testing.T, srv *clienttest.Server, k *kfake.Cluster) Config {
	cfg := testConfig(t, srv, "")
	cfg.KafkaBrokers, cfg.KafkaTopic, cfg.KafkaGroup = k.ListenAddrs(), testTopic, "workers"
	return cfg
}

func TestKafkaFireRunsAndReportsOverTheConnection(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	srv := newServer(t, clienttest.Config{})
	startClient(t, kafkaConfig(t, srv, k))
	hello(t, srv)

	f := shellFire("e-k1", "echo from-kafka")
	f.Perform = &api.Perform{Kind: api.PerformKafka, Brokers: k.ListenAddrs(), Topic: testTopic}
	produce(t, k, f)

	ack, err := srv.WaitAck("e-k1", 1)
	require.NoError(t, err)
	require.True(t, ack.Accepted)
	require.Positive(t, ack.PID)
	res := result(t, srv, "e-k1")
	require.Equal(t, api.ExecSucceeded, res.State)
	require.Equal(t, "from-kafka\n", res.Output)
	require.Equal(t, 0, exitCode(t, res))
	require.Equal(t, []string{"from-kafka"}, logLines(srv, "e-k1"))

	// The ack went before the result on the connection.
	var order []string
	for _, r := range srv.Messages() {
		if r.Msg.Type == protocol.TypeAck || r.Msg.Type == protocol.TypeResult {
			order = append(order, r.Msg.Type)
		}
	}
	require.Equal(t, []string{protocol.TypeAck, protocol.TypeResult}, order)
}

func TestKafkaRunsAtMostCapacityAndTheRestLater(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	srv := newServer(t, clienttest.Config{})
	g := newGate(t)
	calls := make(chan string, 8)
	cfg := kafkaConfig(t, srv, k)
	cfg.Capacity = 1
	startClient(t, cfg, func(c *Client) { c.Handle("block", blockingHandler(g, calls)) })
	hello(t, srv)

	produce(t, k, handlerFire("e-1", "block"), handlerFire("e-2", "block"), handlerFire("e-3", "block"))
	require.Equal(t, "e-1", <-calls)
	require.Empty(t, calls, "one slot: the others wait in Kafka")
	g.open()

	require.Equal(t, "e-2", <-calls)
	require.Equal(t, "e-3", <-calls)
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		require.Equal(t, api.ExecSucceeded, result(t, srv, id).State)
	}
	for _, r := range srv.Messages() {
		if a := r.Msg.Ack; a != nil {
			require.True(t, a.Accepted, "a full worker pauses instead of refusing: %+v", a)
		}
	}
}

func TestKafkaRefusedFireEndsFailed(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	srv := newServer(t, clienttest.Config{})
	cfg := kafkaConfig(t, srv, k)
	cfg.AllowExec = []string{"/opt/jobs/*"}
	startClient(t, cfg)
	hello(t, srv)

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	produceRaw(t, cl, "junk", []byte("not a fire"))
	produce(t, k, commandFire("e-no", "/bin/echo", "x"), handlerFire("e-unknown", "nobody"))

	res := result(t, srv, "e-no")
	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, "refused: not_allowed", res.Error)
	res = result(t, srv, "e-unknown")
	require.Equal(t, api.ExecFailed, res.State)
	require.Equal(t, "refused: unknown_handler", res.Error)
	for _, r := range srv.Messages() {
		require.NotEqual(t, protocol.TypeAck, r.Msg.Type, "a refusal is reported by its result only")
	}
}

// TestKafkaCommitsStartedFiresOnly checks the offsets: a second worker of
// the group gets what the first did not start, and nothing it started.
func TestKafkaCommitsStartedFiresOnly(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	srv := newServer(t, clienttest.Config{})
	g := newGate(t)
	calls := make(chan string, 8)
	cfg := kafkaConfig(t, srv, k)
	cfg.ID, cfg.Capacity = "w1", 1
	first, err := New(cfg)
	require.NoError(t, err)
	first.Handle("block", blockingHandler(g, calls))
	require.NoError(t, first.Start(context.Background()))
	hello(t, srv)

	produce(t, k, handlerFire("e-1", "block"), handlerFire("e-2", "block"))
	require.Equal(t, "e-1", <-calls)

	// Stop while e-1 runs; it ends during the drain. e-2 was never
	// started, so never committed.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		first.Stop()
	}()
	_, err = srv.WaitType(protocol.TypeDrain)
	require.NoError(t, err)
	g.open()
	<-stopped
	require.Equal(t, api.ExecSucceeded, result(t, srv, "e-1").State)

	srv2 := newServer(t, clienttest.Config{})
	cfg2 := kafkaConfig(t, srv2, k)
	cfg2.ID = "w2"
	startClient(t, cfg2, func(c *Client) { c.Handle("block", blockingHandler(g, calls)) })
	res := result(t, srv2, "e-2")
	require.Equal(t, api.ExecSucceeded, res.State)
	for _, r := range srv2.Messages() {
		if a := r.Msg.Ack; a != nil {
			require.Equal(t, "e-2", a.ExecID, "e-1 was committed by the first worker")
		}
	}
}

// TestKafkaHeldRecordIsFetchedAgain drives the consumer by hand: a record
// polled while the runner is full is rewound, not committed, and comes
// back once there is room.
func TestKafkaHeldRecordIsFetchedAgain(t *testing.T) {
	t.Parallel()
	k := newKafka(t)
	srv := newServer(t, clienttest.Config{})
	g := newGate(t)
	calls := make(chan string, 8)
	cfg := kafkaConfig(t, srv, k)
	cfg.Capacity = 1
	c, err := New(cfg)
	require.NoError(t, err)
	c.Handle("block", blockingHandler(g, calls))
	require.NoError(t, c.open()) // the runner and the consumer, not started
	kc := c.kafka
	defer func() {
		g.open()
		kc.close()
		c.runner.wait()
	}()

	// A fire from the server fills the only slot.
	require.True(t, c.runner.start(handlerFire("e-ws", "block")).Accepted)
	require.Equal(t, "e-ws", <-calls)
	produce(t, k, handlerFire("e-k", "block"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs := pollOne(ctx, t, kc)
	require.False(t, kc.handle(ctx, recs), "full: held, no backoff")
	kc.cl.AllowRebalance()
	require.Empty(t, calls)

	g.open()
	require.True(t, c.runner.waitUntil(10*time.Second, c.runner.idleLocked))
	again := pollOne(ctx, t, kc)
	require.Equal(t, recs[0].Offset, again[0].Offset, "the same record again")
	require.False(t, kc.handle(ctx, again))
	kc.cl.AllowRebalance()
	require.Equal(t, "e-k", <-calls)
	ack := <-c.acks
	require.Equal(t, "e-k", ack.ExecID)
	require.True(t, ack.Accepted)
}

func pollOne(ctx context.Context, t *testing.T, kc *kafkaConsumer) []*kgo.Record {
	t.Helper()
	for {
		fs := kc.cl.PollRecords(ctx, 1)
		require.NoError(t, ctx.Err())
		if recs := fs.Records(); len(recs) > 0 {
			return recs
		}
		kc.cl.AllowRebalance()
	}
}

func TestKafkaConfigNamesTheField(t *testing.T) {
	t.Parallel()
	base := Config{Servers: []string{"127.0.0.1:1"}}
	for field, mod := range map[string]func(*Config){
		"KafkaTopic":      func(c *Config) { c.KafkaBrokers = []string{"k1:9092"} },
		"KafkaBrokers":    func(c *Config) { c.KafkaTopic = "fires" },
		"KafkaGroup":      func(c *Config) { c.KafkaGroup = "g" },
		"KafkaTopic: \"a": func(c *Config) { c.KafkaBrokers, c.KafkaTopic = []string{"k1:9092"}, "a b" },
		"KafkaBrokers[1]": func(c *Config) { c.KafkaBrokers, c.KafkaTopic = []string{"k1:9092", " "}, "fires" },
	} {
		cfg := base
		mod(&cfg)
		require.ErrorContains(t, cfg.Validate(), "client: "+field, field)
	}

	cfg := base
	cfg.Group, cfg.KafkaBrokers, cfg.KafkaTopic = "batch", []string{"k1:9092"}, "fires"
	require.NoError(t, cfg.Validate())
	require.Equal(t, "batch", cfg.withDefaults().KafkaGroup, "the group defaults to the client group")
}
