package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
)

func TestClusterStatus(t *testing.T) {
	f := newFakeAPI(t)
	reported := time.Date(2026, 12, 3, 17, 4, 55, 0, time.UTC)
	f.with(func() {
		f.cluster = api.Cluster{
			MetaLeader: "s1",
			Servers: []api.ClusterServer{
				{ID: "s1", HTTP: "10.0.0.1:7700", State: "alive", Load: api.Load{Jobs: 1200, FiresPerSecond: 12.25, RequestsPerSecond: 3,
					StoreBytes: 3 << 20, Clients: 4, ShardLeaders: 2, Replicas: 3, ReportedAt: &reported}},
				{ID: "s2", HTTP: "10.0.0.2:7700", State: "suspect"},
			},
			Shards: []api.ClusterShard{
				{ID: 0, Slots: []string{"0-8191"}, Leader: "s1", Replicas: []string{"s1", "s2"}, Jobs: 700},
				{ID: 1, Slots: []string{"8192-16383"}, Replicas: []string{"s1"}, Jobs: 500},
			},
			UnderReplicated: 2,
		}
	})

	out := f.run(t, "cluster", "status").ok(t)
	require.Equal(t, ""+
		"meta leader: s1    under-replicated shards: 2\n\n"+
		"SERVER  HTTP           STATE    JOBS  FIRES/S  REQ/S  STORE   CLIENTS  LEADS  REPLICAS  REPORTED\n"+
		"s1      10.0.0.1:7700  alive    1200  12.2     3.0    3.0MiB  4        2      3         2026-12-03 17:04:55\n"+
		"s2      10.0.0.2:7700  suspect  0     0.0      0.0    0B      0        0      0         -\n"+
		"\n"+
		"SHARD  SLOTS       LEADER  REPLICAS  JOBS\n"+
		"0      0-8191      s1      s1,s2     700\n"+
		"1      8192-16383  none    s1        500\n", out)

	var back api.Cluster
	require.NoError(t, json.Unmarshal([]byte(f.run(t, "cluster", "status", "-o", "json").ok(t)), &back))
	f.with(func() { require.Equal(t, f.cluster, back) })
}

func TestFmtBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.0KiB", 1536: "1.5KiB", 5 << 30: "5.0GiB"} {
		require.Equal(t, want, fmtBytes(n))
	}
}
