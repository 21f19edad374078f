package client

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/protocol"
)

func TestConnectURL(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"127.0.0.1:7700":                  "ws://127.0.0.1:7700/v1/connect",
		"http://a:1":                      "ws://a:1/v1/connect",
		"https://a:1/":                    "wss://a:1/v1/connect",
		"ws://a:1/v1/connect":             "ws://a:1/v1/connect",
		"wss://proxy.example/swarm":       "wss://proxy.example/swarm/v1/connect",
		" host.example:80 ":               "ws://host.example:80/v1/connect",
		"http://a:1/prefix/v1/connect/":   "ws://a:1/prefix/v1/connect",
		"wss://h/v1/connect?debug=1":      "wss://h/v1/connect?debug=1",
		"https://user@h:8443/v1/connect/": "wss://user@h:8443/v1/connect",
	}
	for in, want := range cases {
		got, err := connectURL(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "ftp://a:1", "http://", "ws://%zz"} {
		_, err := connectURL(bad)
		require.Error(t, err, bad)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	t.Parallel()
	ok := Config{Servers: []string{"a:1"}}
	require.NoError(t, ok.Validate())

	cases := map[string]func(*Config){
		"Servers":           func(c *Config) { c.Servers = nil },
		"Servers[1]":        func(c *Config) { c.Servers = []string{"a:1", "ftp://b"} },
		"ID":                func(c *Config) { c.ID = "no spaces" },
		"Group":             func(c *Config) { c.Group = "-lead" },
		"Capacity":          func(c *Config) { c.Capacity = -1 },
		"HeartbeatInterval": func(c *Config) { c.HeartbeatInterval = -time.Second },
		"OutputTailBytes":   func(c *Config) { c.OutputTailBytes = MaxOutputTailBytes + 1 },
		"DrainTimeout":      func(c *Config) { c.DrainTimeout = -1 },
		"KillGrace":         func(c *Config) { c.KillGrace = -1 },
		"LogLinesPerSecond": func(c *Config) { c.LogLinesPerSecond = -1 },
		"LogLineBytes":      func(c *Config) { c.LogLineBytes = MaxLogLineBytes + 1 },
		`Labels["k"]`:       func(c *Config) { c.Labels = map[string]string{"k": "a\nb"} },
		"AllowExec[0]":      func(c *Config) { c.AllowExec = []string{"[unclosed"} },
	}
	for field, mutate := range cases {
		c := ok
		mutate(&c)
		err := c.Validate()
		require.Error(t, err, field)
		require.Contains(t, err.Error(), "client: "+field+":", field)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{Servers: []string{"a:1"}}.withDefaults()

	require.Equal(t, DefaultGroup, c.Group)
	require.Equal(t, DefaultCapacity, c.Capacity)
	require.Equal(t, DefaultOutputTailBytes, c.OutputTailBytes)
	require.Equal(t, DefaultDrainTimeout, c.DrainTimeout)
	require.Equal(t, DefaultKillGrace, c.KillGrace)
	require.Equal(t, DefaultLogLinesPerSecond, c.LogLinesPerSecond)
	require.Equal(t, DefaultLogLineBytes, c.LogLineBytes)
	require.NotNil(t, c.Logger)
	require.Empty(t, c.ID, "the id may come from the journal")
}

func TestDataEnvName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "SWARM_DATA_TENANT", dataEnvName("tenant"))
	require.Equal(t, "SWARM_DATA_MY_KEY_X", dataEnvName("my-key.x"))
	require.Equal(t, "SWARM_DATA_A_B_9", dataEnvName("a b 9"))
	require.Equal(t, "SWARM_DATA___", dataEnvName("ü"), "each non-alphanumeric byte becomes _")
}

func TestSanitizeID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "host.example-1", sanitizeID("host.example-1"))
	require.Equal(t, "my-host", sanitizeID("_my host"))
	require.Equal(t, "client", sanitizeID("---"))
	require.Len(t, sanitizeID(strings.Repeat("a", 300)), 100)
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	line := "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1234 56"
	st, err := parseProcStat([]byte(line))
	require.NoError(t, err)
	require.Equal(t, byte('S'), st.state)
	require.Equal(t, uint64(987654), st.start)

	_, err = parseProcStat([]byte("4242 (x) S 1"))
	require.Error(t, err)

	self, err := readProcStat(os.Getpid())
	require.NoError(t, err)
	require.True(t, processAlive(os.Getpid(), self.start))
	require.False(t, processAlive(os.Getpid(), self.start+1), "another start time is another process")
	require.False(t, processAlive(0, 0))
}

func TestOutputTailKeepsTheEnd(t *testing.T) {
	t.Parallel()
	o := newOutput(10, 100, 1000)
	now := time.Now()
	for _, l := range []string{"alpha", "beta", "gamma", "délta"} {
		o.add(streamStdout, l, now, false)
	}
	require.Equal(t, "ma\ndélta\n", o.tailString())
	require.Empty(t, o.lines(now, true), "tail-only lines are not streamed")

	// The tail never starts inside a rune.
	o = newOutput(4, 100, 1000)
	o.add(streamStdout, "aéé", now, false)
	require.Equal(t, "é\n", o.tailString())
}

func TestOutputRateLimit(t *testing.T) {
	t.Parallel()
	o := newOutput(1024, 100, 2) // two lines per second, burst two
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, l := range []string{"1", "2", "3", "4"} {
		o.add(streamStdout, l, t0.Add(time.Duration(i)*time.Millisecond), true)
	}
	require.Equal(t, []string{"1", "2"}, texts(o.lines(t0, false)))

	o.add(streamStderr, "5", t0.Add(600*time.Millisecond), true) // one token back
	got := o.lines(t0, false)
	require.Equal(t, []string{"[... 2 lines dropped]", "5"}, texts(got))
	require.Equal(t, streamStderr, got[1].Stream)

	o.add(streamStdout, "6", t0.Add(601*time.Millisecond), true) // no token
	require.Empty(t, o.lines(t0, false))
	require.Equal(t, []string{"[... 1 lines dropped]"}, texts(o.lines(t0, true)), "the end reports the last drops")
	require.Equal(t, "1\n2\n3\n4\n5\n6\n", o.tailString(), "the tail keeps every line")
}

func texts(lines []protocol.LogLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
	}
	return out
}

func TestLineWriter(t *testing.T) {
	t.Parallel()
	var got []string
	w := &lineWriter{fn: func(s string) { got = append(got, s) }}
	_, _ = w.Write([]byte("a\r\nb"))
	_, _ = w.Write([]byte("c\n\nd"))
	w.flush()
	require.Equal(t, []string{"a", "bc", "", "d"}, got)

	got = nil
	_, _ = w.Write([]byte(strings.Repeat("x", maxRawLine+3)))
	w.flush()
	require.Len(t, got, 2, "an endless line is cut")
	require.Len(t, got[0], maxRawLine)
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	rw := &recordWriter{w: &b}
	rw.lineFunc('o')("hello world")
	rw.lineFunc('e')("")

	recs := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, recs, 2)
	stream, ts, text, ok := parseRecord([]byte(recs[0]))
	require.True(t, ok)
	require.Equal(t, streamStdout, stream)
	require.Equal(t, "hello world", text)
	require.WithinDuration(t, time.Now(), ts, time.Minute)
	stream, _, text, ok = parseRecord([]byte(recs[1]))
	require.True(t, ok)
	require.Equal(t, streamStderr, stream)
	require.Empty(t, text)

	for _, bad := range []string{"", "x 1 a", "o notanumber a", "o 123"} {
		_, _, _, ok := parseRecord([]byte(bad))
		require.False(t, ok, bad)
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	t.Parallel()
	for n := range 40 {
		d := backoff(n, MaxBackoff)
		require.LessOrEqual(t, d, MaxBackoff, n)
		require.GreaterOrEqual(t, d, min(minBackoff<<min(n, 20), MaxBackoff)/2, n)
	}
}

func TestRecentSetForgetsOldest(t *testing.T) {
	t.Parallel()
	s := newRecentSet[recentRun](2)
	s.add(runKey{"a", 1}, recentRun{pid: 1})
	s.add(runKey{"b", 1}, recentRun{pid: 2})
	s.add(runKey{"c", 1}, recentRun{pid: 3})

	_, ok := s.get(runKey{"a", 1})
	require.False(t, ok)
	v, ok := s.get(runKey{"c", 1})
	require.True(t, ok)
	require.Equal(t, 3, v.pid)
}

func TestAllowedPatterns(t *testing.T) {
	t.Parallel()
	require.True(t, allowed(nil, "/anything"))
	require.True(t, allowed([]string{"/opt/jobs/*"}, "/opt/jobs/report"))
	require.False(t, allowed([]string{"/opt/jobs/*"}, "/opt/jobs/sub/report"), "* does not cross /")
	require.True(t, allowed([]string{"/usr/bin/env", "backup-*"}, "backup-db"))
}

func TestRunDirNameIsSafeAndUnique(t *testing.T) {
	t.Parallel()
	a := runDirName(runKey{"../../etc/x", 1})
	require.NotContains(t, a, "/")
	require.NotEqual(t, a, runDirName(runKey{"__.._etc_x", 1}), "different ids, different dirs")
	require.NotEqual(t, a, runDirName(runKey{"../../etc/x", 2}))
}
