package server_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// TestSnapshotSaveAndRestore takes a snapshot, changes the cluster, and
// restores it: the jobs and calendars are as they were, and fire again.
func TestSnapshotSaveAndRestore(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()
	c, err := api.NewClient([]string{base})
	require.NoError(t, err)
	ctx := context.Background()

	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/calendars", scheduler.CalendarSpec{Name: "none", Kind: "holiday", Dates: []string{"2001-01-01"}}, nil))
	for _, name := range []string{"kept", "also-kept"} {
		require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob(name), nil))
	}
	var buf bytes.Buffer
	_, err = c.SaveSnapshot(ctx, &buf)
	require.NoError(t, err)

	require.Equal(t, http.StatusNoContent, do(t, "DELETE", base+"/v1/jobs/demo/kept", nil, nil))
	require.Equal(t, http.StatusNoContent, do(t, "DELETE", base+"/v1/calendars/none", nil, nil))
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("after"), nil))

	require.NoError(t, c.RestoreSnapshot(ctx, buf.Bytes()))

	var list api.JobList
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/jobs?group=demo", nil, &list))
	var names []string
	for _, j := range list.Jobs {
		names = append(names, j.Name)
	}
	require.ElementsMatch(t, []string{"kept", "also-kept"}, names)
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/calendars/none", nil, nil))
	drain(w, 0)
	waitFire(t, w, "demo/kept")

	// Writes after the restore apply (the restored store's applied index
	// belonged to the old log).
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("new"), nil))
	waitFire(t, w, "demo/new")

	var e api.ErrorBody
	require.Equal(t, http.StatusBadRequest, do(t, "POST", base+"/v1/snapshot", nil, &e))
}
