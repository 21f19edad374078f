package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	f := newFakeAPI(t)

	out := f.run(t, "version").ok(t)
	require.Equal(t, "client  dev\nserver  9.9.9 (protocol 1)\n", out)

	var info versionInfo
	require.NoError(t, json.Unmarshal([]byte(f.run(t, "version", "-o", "json").ok(t)), &info))
	require.Equal(t, "9.9.9", info.Server.Version)
	require.Equal(t, version, info.Client)
}

func TestVersionWithoutAServerStillSucceeds(t *testing.T) {
	addr := closedAddr(t)
	out := runCLI(t, "", "--server", addr, "version").ok(t)
	require.Contains(t, out, "client  dev\nserver  cannot reach swarm server at "+addr)
}
