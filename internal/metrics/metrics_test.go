package metrics_test

import (
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/internal/metrics"
)

// scrape reads m's handler as Prometheus would.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return fams
}

// find returns the series of name whose labels include want, or nil.
func find(fams map[string]*dto.MetricFamily, name string, want ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		return m
	}
	return nil
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	m := find(fams, name, labels...)
	require.NotNil(t, m, "no series %s%v", name, labels)
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("series %s has no value", name)
	return 0
}

// bucket is the cumulative count of a histogram series at upper bound le.
func bucket(t *testing.T, fams map[string]*dto.MetricFamily, name string, le float64, labels ...string) uint64 {
	t.Helper()
	m := find(fams, name, labels...)
	require.NotNil(t, m)
	for _, b := range m.Histogram.Bucket {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("%s has no bucket %v", name, le)
	return 0
}

func TestMetricsReportWhatTheHooksSaw(t *testing.T) {
	m := metrics.New()
	m.FireOutcome("released")
	m.FireOutcome("released")
	m.FireOutcome("skipped_misfire")
	m.FireLateness(3 * time.Millisecond)
	m.FireLateness(-time.Millisecond) // a clock step: counted as on time
	m.FireLateness(2 * time.Minute)
	m.ExecutionFinished("succeeded")
	m.ExecutionFinished("retrying")
	m.UpdateBatch(3)
	m.RaftApply("shard-0", 2*time.Millisecond)
	m.RaftApply("meta", time.Millisecond)
	m.LeaderChange("shard-0")
	m.ClientsChanged("default", 1)
	m.ClientsChanged("default", 1)
	m.ClientsChanged("default", -1)
	m.ClientsChanged("batch", 1)
	m.Request("/v1/jobs/{group}/{name}", "GET", 404, 5*time.Millisecond)
	m.Request("/v1/connect", "GET", 101, 0)
	m.Notification("failure", "delivered")
	m.SetSampler(func() metrics.Sample {
		return metrics.Sample{MetaLeader: true, Shards: []metrics.ShardSample{
			{ID: 0, Group: "shard-0", Leader: true, Jobs: 7, StoreBytes: 32768, Pending: 2},
			{ID: 1, Group: "shard-1", Jobs: 3, StoreBytes: 16384},
		}}
	})

	fams := scrape(t, m)
	require.Equal(t, 2.0, value(t, fams, "swarm_fires_total", "outcome", "released"))
	require.Equal(t, 1.0, value(t, fams, "swarm_fires_total", "outcome", "skipped_misfire"))

	require.Equal(t, 3.0, value(t, fams, "swarm_fire_lateness_seconds"))
	require.Equal(t, uint64(1), bucket(t, fams, "swarm_fire_lateness_seconds", .001), "the early one")
	require.Equal(t, uint64(2), bucket(t, fams, "swarm_fire_lateness_seconds", .005))
	require.Equal(t, uint64(2), bucket(t, fams, "swarm_fire_lateness_seconds", 60), "two minutes is beyond the last bucket")

	require.Equal(t, 1.0, value(t, fams, "swarm_executions_total", "state", "succeeded"))
	require.Equal(t, 1.0, value(t, fams, "swarm_executions_total", "state", "retrying"))
	require.Equal(t, 1.0, value(t, fams, "swarm_update_batch_size"))
	require.Equal(t, 1.0, value(t, fams, "swarm_raft_apply_seconds", "group", "shard-0"))
	require.Equal(t, 1.0, value(t, fams, "swarm_raft_apply_seconds", "group", "meta"))
	require.Equal(t, 1.0, value(t, fams, "swarm_raft_leader_changes_total", "group", "shard-0"))
	require.Equal(t, 1.0, value(t, fams, "swarm_clients", "group", "default"))
	require.Equal(t, 1.0, value(t, fams, "swarm_clients", "group", "batch"))

	require.Equal(t, 1.0, value(t, fams, "swarm_api_requests_total", "route", "/v1/jobs/{group}/{name}", "method", "GET", "status", "404"))
	require.Equal(t, 1.0, value(t, fams, "swarm_api_requests_total", "route", "/v1/connect", "status", "101"))
	require.Equal(t, 1.0, value(t, fams, "swarm_api_request_duration_seconds", "route", "/v1/jobs/{group}/{name}"))
	require.Nil(t, find(fams, "swarm_api_request_duration_seconds", "route", "/v1/connect"), "a WebSocket's lifetime is no latency")
	require.Equal(t, 1.0, value(t, fams, "swarm_notifications_total", "event", "failure", "result", "delivered"))

	require.Equal(t, 1.0, value(t, fams, "swarm_shard_leaders"))
	require.Equal(t, 1.0, value(t, fams, "swarm_raft_is_leader", "group", "meta"))
	require.Equal(t, 1.0, value(t, fams, "swarm_raft_is_leader", "group", "shard-0"))
	require.Equal(t, 0.0, value(t, fams, "swarm_raft_is_leader", "group", "shard-1"))
	require.Equal(t, 7.0, value(t, fams, "swarm_shard_jobs", "shard", "0"))
	require.Equal(t, 16384.0, value(t, fams, "swarm_store_bytes", "shard", "1"))
	require.Equal(t, 2.0, value(t, fams, "swarm_release_queue", "shard", "0"))

	require.NotNil(t, fams["go_goroutines"], "the Go runtime collector is on")
}

func TestEachMetricsHasItsOwnRegistry(t *testing.T) {
	a, b := metrics.New(), metrics.New() // the default registry would panic on the second
	a.FireOutcome("released")
	require.NotNil(t, find(scrape(t, a), "swarm_fires_total", "outcome", "released"))
	require.Nil(t, find(scrape(t, b), "swarm_fires_total", "outcome", "released"))

	fams := scrape(t, b)
	require.Nil(t, fams["swarm_shard_leaders"], "no sampler, no sampled gauges")
}
