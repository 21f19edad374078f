package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
)

// scrapeMetrics reads a server's /metrics as Prometheus would.
func scrapeMetrics(t *testing.T, base, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testHTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// metricSum adds the values (a histogram's sample counts) of name's series
// whose labels include the pairs of want.
func metricSum(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	sum := 0.0
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
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func TestMetricsShowAServerAtWork(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()

	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("metered"), nil))
	waitFires(t, w, "demo/metered", 2)
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/jobs/demo/metered", nil, nil))
	require.Equal(t, http.StatusNotFound, do(t, "GET", base+"/v1/jobs/demo/missing", nil, nil))

	// Results are committed after the fires reach the worker.
	var fams map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		fams = scrapeMetrics(t, base, "")
		return metricSum(fams, "swarm_executions_total", "state", api.ExecSucceeded) >= 2
	}, 10*time.Second, 50*time.Millisecond)

	require.GreaterOrEqual(t, metricSum(fams, "swarm_fires_total", "outcome", "released"), 2.0)
	require.GreaterOrEqual(t, metricSum(fams, "swarm_fire_lateness_seconds"), 2.0)
	require.Positive(t, metricSum(fams, "swarm_update_batch_size"))

	require.Positive(t, metricSum(fams, "swarm_raft_apply_seconds", "group", "meta"))
	shardApplies := 0.0
	for _, g := range []string{"shard-0", "shard-1"} {
		shardApplies += metricSum(fams, "swarm_raft_apply_seconds", "group", g)
		require.GreaterOrEqual(t, metricSum(fams, "swarm_raft_leader_changes_total", "group", g), 1.0, "leadership gained at start")
		require.Equal(t, 1.0, metricSum(fams, "swarm_raft_is_leader", "group", g))
	}
	require.Positive(t, shardApplies)
	require.GreaterOrEqual(t, metricSum(fams, "swarm_raft_leader_changes_total", "group", "meta"), 1.0)
	require.Equal(t, 1.0, metricSum(fams, "swarm_raft_is_leader", "group", "meta"))
	require.Equal(t, 2.0, metricSum(fams, "swarm_shard_leaders"), "a single server leads both shards")
	require.Equal(t, 1.0, metricSum(fams, "swarm_shard_jobs"))
	require.Positive(t, metricSum(fams, "swarm_store_bytes"))
	require.Equal(t, 1.0, metricSum(fams, "swarm_clients", "group", "default"))

	require.Equal(t, 1.0, metricSum(fams, "swarm_api_requests_total", "route", "/v1/jobs", "method", "POST", "status", "201"))
	require.Equal(t, 1.0, metricSum(fams, "swarm_api_requests_total", "route", "/v1/jobs/{group}/{name}", "method", "GET", "status", "200"))
	require.Equal(t, 1.0, metricSum(fams, "swarm_api_requests_total", "route", "/v1/jobs/{group}/{name}", "method", "GET", "status", "404"))
	require.Equal(t, 2.0, metricSum(fams, "swarm_api_request_duration_seconds", "route", "/v1/jobs/{group}/{name}"))
	for _, m := range fams["swarm_api_requests_total"].Metric {
		for _, l := range m.Label {
			require.NotContains(t, l.GetValue(), "metered", "a raw path became a label")
		}
	}

	// A worker that leaves is no longer counted.
	w.close()
	require.Eventually(t, func() bool {
		return metricSum(scrapeMetrics(t, base, ""), "swarm_clients", "group", "default") == 0
	}, 10*time.Second, 50*time.Millisecond)
}

func TestMetricsNeedAReaderTokenWithAuth(t *testing.T) {
	logs := &syncBuffer{}
	dir := t.TempDir()
	s := startServer(t, dir, authOn(logs))
	defer s.Stop()
	base := "http://" + s.HTTPAddr()

	require.Equal(t, http.StatusUnauthorized, call(t, "GET", base+"/metrics", "", ""))
	raw, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	require.NoError(t, err)
	reader := mintToken(t, base, strings.TrimSpace(string(raw)), api.TokenRequest{Role: api.RoleReader})
	fams := scrapeMetrics(t, base, reader)
	require.Positive(t, metricSum(fams, "swarm_raft_apply_seconds", "group", "meta"), "minting the token was a proposal")
}
