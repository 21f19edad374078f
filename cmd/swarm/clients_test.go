package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
)

func TestClientsList(t *testing.T) {
	f := newFakeAPI(t)
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	f.with(func() {
		f.clients = []api.Client{
			{ID: "w1", Group: "batch", Server: "s1", Capacity: 8, Running: 3, Labels: map[string]string{"zone": "a", "gpu": "1"},
				Handlers: []string{"report.daily", "sync"}, ConnectedAt: at},
			{ID: "w2", Group: "default", Server: "s2", Capacity: 1, ConnectedAt: at},
		}
	})

	out := f.run(t, "clients", "list", "--group", "batch").ok(t)
	require.Equal(t, ""+
		"CLIENT  GROUP  SERVER  RUNNING  LABELS        HANDLERS           CONNECTED\n"+
		"w1      batch  s1      3/8      gpu=1,zone=a  report.daily,sync  2026-12-03 09:00:00\n", out)
	f.with(func() { require.Equal(t, "group=batch", f.queries[len(f.queries)-1]) })

	var all []api.Client
	require.NoError(t, json.Unmarshal([]byte(f.run(t, "clients", "list", "-o", "json").ok(t)), &all))
	require.Len(t, all, 2)
}
