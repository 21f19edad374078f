package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/client/clienttest"
)

func TestClientCommandRegistersAndDrains(t *testing.T) {
	srv := clienttest.NewServer(clienttest.Config{HeartbeatMS: 50})
	defer srv.Close()

	root := newRootCmd()
	root.SetArgs([]string{"client", "--server", "127.0.0.1:1," + srv.Addr(), "--token", "tok",
		"--group", "batch", "--id", "w9", "--capacity", "3", "--label", "zone=eu-1", "--label", "disk=ssd",
		"--log-level", "warn"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	h, err := srv.WaitHello()
	require.NoError(t, err)
	require.Equal(t, "w9", h.ID)
	require.Equal(t, "batch", h.Group)
	require.Equal(t, 3, h.Capacity)
	require.Equal(t, map[string]string{"zone": "eu-1", "disk": "ssd"}, h.Labels)
	require.Equal(t, "swarm/"+version, h.Software)

	_, err = srv.WaitType("heartbeat") // the worker is past the welcome
	require.NoError(t, err)
	cancel() // what SIGTERM does
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("swarm client did not stop")
	}
	_, err = srv.WaitType("drain")
	require.NoError(t, err)
}

func TestClientCommandRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"client", "--label", "novalue"},
		{"client", "--log-format", "xml"},
		{"client", "--capacity", "-1"},
		{"client", "--group", "bad group"},
		{"client", "--server", " , "},
	} {
		root := newRootCmd()
		root.SetArgs(args)
		require.Error(t, root.ExecuteContext(context.Background()), args)
	}
}

func TestParseLabelsAndSplitList(t *testing.T) {
	l, err := parseLabels([]string{"a=1", "b=x=y", "c="})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "1", "b": "x=y", "c": ""}, l)
	_, err = parseLabels([]string{"=v"})
	require.Error(t, err)

	require.Equal(t, []string{"a:1", "b:2"}, splitList(" a:1, ,b:2,"))
	require.Empty(t, splitList(""))
}
