package bench

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
)

func TestLoadSendsRefusedJobsAgain(t *testing.T) {
	var mu sync.Mutex
	var requests [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req api.BatchRequest
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		mu.Lock()
		defer mu.Unlock()
		var keys []string
		res := api.BatchResponse{}
		for _, j := range req.Jobs {
			keys = append(keys, j.Key())
			out := api.BatchResult{Key: j.Key(), Status: http.StatusCreated}
			switch {
			case j.Name == JobName(1) && len(requests) == 0:
				// Refused, yet committed: the retry finds it.
				e := api.Unavailable("shard 1 is not led by this server; retry")
				out = api.BatchResult{Key: j.Key(), Status: e.Status, Error: e}
			case j.Name == JobName(1):
				e := api.AlreadyExists("job %s already exists", j.Key())
				out = api.BatchResult{Key: j.Key(), Status: e.Status, Error: e}
			case j.Name == JobName(2):
				e := api.Invalid("trigger", "no")
				out = api.BatchResult{Key: j.Key(), Status: e.Status, Error: e}
			}
			res.Results = append(res.Results, out)
		}
		requests = append(requests, keys)
		json.NewEncoder(w).Encode(res)
	}))
	defer srv.Close()

	var missing []int
	rep, err := loadJobs(context.Background(), loadConfig{
		Servers: []string{strings.TrimPrefix(srv.URL, "http://")}, Jobs: 3, Batch: 3, Inflight: 1,
		Schedule: Schedule{Period: time.Minute}, Logger: slog.New(slog.DiscardHandler),
		Missing: func(i int) { missing = append(missing, i) },
	})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Created)
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, 1, rep.Retried)
	require.Equal(t, []int{2}, missing)
	require.Equal(t, [][]string{{"bench/j0000000", "bench/j0000001", "bench/j0000002"}, {"bench/j0000001"}}, requests)
}
