package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"ls -l /tmp", []string{"ls", "-l", "/tmp"}},
		{"  a \t b\n c  ", []string{"a", "b", "c"}},
		{`echo "hello world"`, []string{"echo", "hello world"}},
		{`echo 'it''s'`, []string{"echo", "its"}},
		{`echo 'a "b" \n'`, []string{"echo", `a "b" \n`}},
		{`echo "a \"b\" \\ \$HOME \n"`, []string{"echo", `a "b" \ $HOME \n`}},
		{`a\ b c\\d \'e`, []string{"a b", `c\d`, "'e"}},
		{`x "" ''`, []string{"x", "", ""}},
		{`pre"mid dle"post`, []string{"premid dlepost"}},
		{"one\\\ntwo", []string{"onetwo"}},
		{`$HOME *.go | wc`, []string{"$HOME", "*.go", "|", "wc"}},
		{`héllo "wörld"`, []string{"héllo", "wörld"}},
	}
	for _, tc := range cases {
		got, err := splitCommand(tc.in)
		require.NoError(t, err, "input %q", tc.in)
		require.Equal(t, tc.want, got, "input %q", tc.in)
	}

	for in, want := range map[string]string{
		`echo "oops`: "unterminated double quote",
		`echo 'oops`: "unterminated single quote",
		`echo oops\`: "ends in a lone backslash",
		`echo "a\"`:  "unterminated double quote",
	} {
		_, err := splitCommand(in)
		require.EqualError(t, err, want, "input %q", in)
	}
}

func TestQuoteWordRoundTrips(t *testing.T) {
	words := []string{"plain", "two words", `it's`, `back\slash`, `"q"`, ""}
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, quoteWord(w))
	}
	got, err := splitCommand(strings.Join(quoted, " "))
	require.NoError(t, err)
	require.Equal(t, words, got)
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		return path
	}

	// Without a known extension the text decides.
	var j api.Job
	require.NoError(t, decodeFile(write("job", "group: g\nname: n\ntimeout: 30m\n"), nil, &j))
	require.Equal(t, 30*time.Minute, j.Timeout.D())
	j = api.Job{}
	require.NoError(t, decodeFile(write("job2", `{"group":"g","name":"m"}`), nil, &j))
	require.Equal(t, "m", j.Name)

	cases := map[string]string{
		write("two.yaml", "group: a\n---\ngroup: b\n"):   "more than one YAML document",
		write("two.json", `{"group":"a"} {"group":"b"}`): "more than one object",
		write("empty.yaml", ""):                          "is empty",
		write("keys.yaml", "data: {1: x}\n"):             "map key 1 is not a string",
		write("typo.json", `{"gruop":"a"}`):              `unknown field "gruop"`,
		write("list.yaml", "- group: a\n"):               "cannot unmarshal array",
		filepath.Join(dir, "missing.json"):               "no such file",
	}
	for path, want := range cases {
		err := decodeFile(path, nil, &api.Job{})
		require.ErrorContains(t, err, want, path)
		require.ErrorContains(t, err, path, "the error names the file")
	}
}

func TestSameJob(t *testing.T) {
	file := func() *api.Job {
		return &api.Job{Group: "g", Name: "n", Trigger: scheduler.Spec{Kind: "cron", Cron: "0 0 * * * ?"},
			Executor: api.Executor{Command: "/bin/x"}, Data: map[string]string{"k": "v"}}
	}
	next := time.Now()
	stored := file()
	stored.ID, stored.State, stored.Version, stored.NextFireAt = "id", api.JobPaused, 7, &next
	stored.Trigger.TimeZone, stored.Trigger.Priority = "UTC", scheduler.DefaultPriority
	stored.Executor.Kind, stored.Perform.Kind = api.ExecutorProcess, api.PerformWebSocket
	stored.ClientGroup, stored.Routing, stored.Concurrency = api.DefaultGroup, api.RoutingAny, api.ConcurrencyAllow

	require.True(t, sameJob(file(), stored), "defaults and read-only fields make no difference")

	changes := map[string]func(j *api.Job){
		"data":         func(j *api.Job) { j.Data["k"] = "w" },
		"cron":         func(j *api.Job) { j.Trigger.Cron = "0 1 * * * ?" },
		"time zone":    func(j *api.Job) { j.Trigger.TimeZone = "Asia/Tokyo" },
		"args":         func(j *api.Job) { j.Executor.Args = []string{"a"} },
		"client group": func(j *api.Job) { j.ClientGroup = "batch" },
		"timeout":      func(j *api.Job) { j.Timeout = api.Duration(time.Second) },
	}
	for name, change := range changes {
		want := file()
		change(want)
		require.False(t, sameJob(want, stored), name)
	}
}

// TestSameJobWithATriggerThisBuildCannotCompile: a newer server may know
// trigger kinds this CLI does not; the shared defaults still compare equal.
func TestSameJobWithATriggerThisBuildCannotCompile(t *testing.T) {
	file := &api.Job{Group: "g", Name: "n", Trigger: scheduler.Spec{Kind: "lunar", Unit: "moon"}, Executor: api.Executor{Command: "x"}}
	cp := *file
	_, err := cp.Normalize()
	require.Error(t, err, "the test needs a kind this build refuses")

	stored := &api.Job{Group: "g", Name: "n", ID: "id", State: api.JobNormal,
		Trigger:  scheduler.Spec{Kind: "lunar", Unit: "moon", TimeZone: "UTC", Priority: scheduler.DefaultPriority},
		Executor: api.Executor{Kind: api.ExecutorProcess, Command: "x"}, Perform: api.Perform{Kind: api.PerformWebSocket},
		ClientGroup: api.DefaultGroup, Routing: api.RoutingAny, Concurrency: api.ConcurrencyAllow}
	require.True(t, sameJob(file, stored))

	file.Trigger.Unit = "sun"
	require.False(t, sameJob(file, stored))
}
