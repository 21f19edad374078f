package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestJobCreateFromFlags(t *testing.T) {
	f := newFakeAPI(t)

	out := f.run(t, "job", "create", "--group", "billing", "--name", "nightly",
		"--cron", "0 0 2 * * ?", "--time-zone", "Europe/Berlin",
		"--exec", `/opt/jobs/invoices --day "last day" 'it''s' a\ b`,
		"--client-group", "batch", "--routing", "least_busy", "--timeout", "30m", "--retries", "3",
		"--concurrency", "forbid", "--data", "tenant=acme", "--data", "mode=a=b", "--description", "invoices").ok(t)

	require.Equal(t, "KEY              ID                  TRIGGER                         NEXT FIRE            STATE\n"+
		"billing/nightly  id-billing/nightly  cron 0 0 2 * * ? Europe/Berlin  2026-12-03 18:05:00  normal\n", out)
	j := f.job(t, "billing/nightly")
	require.Equal(t, scheduler.Spec{Kind: "cron", Cron: "0 0 2 * * ?", TimeZone: "Europe/Berlin", Priority: 5}, j.Trigger)
	require.Equal(t, api.Executor{Kind: "process", Command: "/opt/jobs/invoices", Args: []string{"--day", "last day", "its", "a b"}}, j.Executor)
	require.Equal(t, "batch", j.ClientGroup)
	require.Equal(t, "least_busy", j.Routing)
	require.Equal(t, "forbid", j.Concurrency)
	require.Equal(t, 30*time.Minute, j.Timeout.D())
	require.Equal(t, 3, j.Retries.Max)
	require.Equal(t, map[string]string{"tenant": "acme", "mode": "a=b"}, j.Data)
	require.Equal(t, "invoices", j.Description)
}

func TestJobCreateEveryAndShell(t *testing.T) {
	f := newFakeAPI(t)

	f.run(t, "job", "create", "--group", "demo", "--name", "tick", "--every", "1500ms", "--repeat", "9",
		"--exec", "echo $HOME | wc -c", "--shell").ok(t)

	j := f.job(t, "demo/tick")
	require.Equal(t, scheduler.KindSimple, j.Trigger.Kind)
	require.Equal(t, 1500*time.Millisecond, j.Trigger.Interval.Duration)
	require.Equal(t, int64(9), *j.Trigger.RepeatCount)
	require.Equal(t, api.Executor{Kind: "process", Command: "echo $HOME | wc -c", Shell: true}, j.Executor)
}

func TestJobCreateFromFiles(t *testing.T) {
	dir := t.TempDir()
	jsonFile := writeFile(t, dir, "job.json", `{
  "group": "billing", "name": "from-json",
  "trigger": {"kind": "cron", "cron": "0 0 2 * * ?"},
  "executor": {"kind": "process", "command": "/bin/report", "args": ["--full"]},
  "timeout": "10m", "data": {"a": "1"}
}`)
	yamlFile := writeFile(t, dir, "job.yaml", `
group: billing
name: from-yaml
trigger:
  kind: daily_time_interval
  interval: 15
  unit: minute
  days_of_week: [MON, FRI]
  start_time_of_day: "08:00:00"
executor:
  kind: process
  command: /bin/report
retries: {max: 2, backoff: 5s}
data:
  "on": "yes"
`)
	f := newFakeAPI(t)

	f.run(t, "job", "create", "-f", jsonFile).ok(t)
	j := f.job(t, "billing/from-json")
	require.Equal(t, []string{"--full"}, j.Executor.Args)
	require.Equal(t, 10*time.Minute, j.Timeout.D())

	// Flags given with a file override its fields.
	f.run(t, "job", "create", "-f", jsonFile, "--name", "override", "--timeout", "1m", "--data", "b=2").ok(t)
	j = f.job(t, "billing/override")
	require.Equal(t, time.Minute, j.Timeout.D())
	require.Equal(t, map[string]string{"a": "1", "b": "2"}, j.Data)
	require.Equal(t, "0 0 2 * * ?", j.Trigger.Cron)

	f.run(t, "job", "create", "-f", yamlFile).ok(t)
	j = f.job(t, "billing/from-yaml")
	require.Equal(t, scheduler.KindDailyTimeInterval, j.Trigger.Kind)
	require.Equal(t, scheduler.Interval{Count: 15, IsCount: true}, j.Trigger.Interval)
	require.Equal(t, []string{"MON", "FRI"}, j.Trigger.DaysOfWeek)
	require.Equal(t, "08:00:00", j.Trigger.StartTimeOfDay)
	require.Equal(t, 2, j.Retries.Max)
	require.Equal(t, 5*time.Second, j.Retries.Backoff.D())
	require.Equal(t, map[string]string{"on": "yes"}, j.Data)

	// stdin
	r := runCLI(t, `{"group":"g","name":"stdin","trigger":{"kind":"cron","cron":"* * * * * ?"},"executor":{"command":"true"}}`,
		"--server", f.srv.URL, "job", "create", "-f", "-")
	r.ok(t)
	f.job(t, "g/stdin")
}

func TestJobCreateErrors(t *testing.T) {
	dir := t.TempDir()
	typo := writeFile(t, dir, "typo.yaml", "group: g\nname: n\ntriger: {kind: cron}\n")
	f := newFakeAPI(t)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nothing given", []string{"job", "create"}, "missing --group, --name, --cron or --every, --exec or --handler (or pass -f FILE)"},
		{"no trigger", []string{"job", "create", "--group", "g", "--name", "n", "--exec", "true"}, "missing --cron or --every"},
		{"both triggers", []string{"job", "create", "--cron", "* * * * * ?", "--every", "1s"}, "--cron and --every: give one of them"},
		{"repeat with cron", []string{"job", "create", "--cron", "* * * * * ?", "--repeat", "2"}, "--repeat: only for an --every trigger"},
		{"bad quoting", []string{"job", "create", "--group", "g", "--name", "n", "--every", "1s", "--exec", `echo "oops`}, "--exec: unterminated double quote"},
		{"bad data", []string{"job", "create", "--group", "g", "--name", "n", "--every", "1s", "--exec", "true", "--data", "novalue"}, `--data: want key=value, got "novalue"`},
		{"unknown field", []string{"job", "create", "-f", typo}, `unknown field "triger"`},
		{"server 400 names the field", []string{"job", "create", "--group", "g", "--name", "n", "--cron", "* *", "--exec", "true"},
			`invalid trigger.cron: "* *" needs at least 6 fields`},
		{"bad name", []string{"job", "create", "--group", "g", "--name", "bad name", "--every", "1s", "--exec", "true"}, "invalid name: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(t, tc.args...)
			require.Error(t, r.err)
			require.Contains(t, r.err.Error(), tc.want)
		})
	}
	require.Empty(t, f.takeWrites(), "no bad job reached the store")

	f.run(t, "job", "create", "--group", "g", "--name", "n", "--every", "1s", "--exec", "true").ok(t)
	r := f.run(t, "job", "create", "--group", "g", "--name", "n", "--every", "1s", "--exec", "true")
	require.EqualError(t, r.err, "job g/n already exists: change it with `swarm job update g/n` or `swarm job apply -f FILE`")
}

func TestJobGet(t *testing.T) {
	f := newFakeAPI(t)
	f.run(t, "job", "create", "--group", "billing", "--name", "nightly", "--cron", "0 0 2 * * ?",
		"--exec", "/bin/report 'two words'", "--retries", "2", "--data", "k=v").ok(t)

	out := f.run(t, "job", "get", "billing/nightly").ok(t)
	for _, want := range []string{
		"KEY           billing/nightly", "TRIGGER       cron 0 0 2 * * ?", "EXECUTOR      /bin/report 'two words'",
		"CLIENT GROUP  default", "NEXT FIRE     2026-12-03 18:05:00", "DATA          k=v", "STATE         normal",
	} {
		require.Contains(t, out, want)
	}

	byFlags := f.run(t, "job", "get", "--group", "billing", "--name", "nightly").ok(t)
	require.Equal(t, out, byFlags)

	r := f.run(t, "job", "get", "billing/missing")
	require.EqualError(t, r.err, "job billing/missing not found")
	var apiErr *api.Error
	require.ErrorAs(t, r.err, &apiErr, "the explained error still carries the API's")
	require.Equal(t, 404, apiErr.Status)
}

func createJobs(t *testing.T, f *fakeAPI, group string, n int) {
	t.Helper()
	for i := range n {
		f.run(t, "job", "create", "--group", group, "--name", fmt.Sprintf("j%02d", i), "--every", "1m", "--exec", "true").ok(t)
	}
}

func TestJobListPages(t *testing.T) {
	f := newFakeAPI(t)
	createJobs(t, f, "a", 5)
	createJobs(t, f, "b", 1)

	r := f.run(t, "job", "list", "--group", "a", "--limit", "2")
	out := r.ok(t)
	require.Equal(t, "JOB    TRIGGER   STATE   NEXT FIRE            LAST FIRE\n"+
		"a/j00  every 1m  normal  2026-12-03 18:05:00  -\n"+
		"a/j01  every 1m  normal  2026-12-03 18:05:00  -\n", out)
	require.Equal(t, "more jobs: pass --all, or --cursor a/j01 for the next page\n", r.stderr)

	next := f.run(t, "job", "list", "--group", "a", "--limit", "2", "--cursor", "a/j01").ok(t)
	require.Contains(t, next, "a/j02")
	require.NotContains(t, next, "a/j01")

	f.with(func() { f.queries = nil })
	r = f.run(t, "job", "list", "--group", "a", "--limit", "2", "--all", "-o", "json")
	var jobs []api.Job
	require.NoError(t, json.Unmarshal([]byte(r.ok(t)), &jobs), "JSON output of a list is the plain array")
	require.Len(t, jobs, 5)
	require.Equal(t, "a/j04", jobs[4].Key())
	require.Empty(t, r.stderr)
	f.with(func() {
		require.Equal(t, []string{"group=a&limit=2", "cursor=a%2Fj01&group=a&limit=2", "cursor=a%2Fj03&group=a&limit=2"}, f.queries)
	})

	empty := f.run(t, "job", "list", "--group", "none", "-o", "json").ok(t)
	require.Equal(t, "[]\n", empty)

	r = f.run(t, "job", "list", "--limit", "5000")
	require.EqualError(t, r.err, "--limit: must be between 1 and 1000")
}

func TestJobListYAMLHasTheJSONStructure(t *testing.T) {
	f := newFakeAPI(t)
	f.run(t, "job", "create", "--group", "g", "--name", "nightly", "--cron", "0 0 2 * * ?", "--exec", "true",
		"--timeout", "90s", "--data", "zip=01234", "--data", "flag=true").ok(t)

	fromJSON := f.run(t, "job", "list", "-o", "json").ok(t)
	fromYAML := f.run(t, "job", "list", "-o", "yaml").ok(t)

	var a, b any
	require.NoError(t, json.Unmarshal([]byte(fromJSON), &a))
	require.NoError(t, yaml.Unmarshal([]byte(fromYAML), &b))
	require.Equal(t, normalizeYAML(a), normalizeYAML(b))
	require.Contains(t, fromYAML, "- group: g\n  name: nightly\n  id: id-g/nightly\n  trigger:\n    kind: cron\n")
	require.Contains(t, fromYAML, `zip: "01234"`, "a string that reads as a number stays a string")
	require.Contains(t, fromYAML, `flag: "true"`)
	require.Contains(t, fromYAML, "timeout: 1m30s")
}

// normalizeYAML makes JSON- and YAML-decoded values comparable: numbers
// as float64, and time-like strings as YAML gave them.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
	case int:
		return float64(x)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return v
}

func TestJobUpdateMergesFlags(t *testing.T) {
	f := newFakeAPI(t)
	f.run(t, "job", "create", "--group", "g", "--name", "n", "--cron", "0 0 2 * * ?", "--time-zone", "Asia/Tokyo",
		"--exec", "/bin/a --x", "--client-group", "batch", "--data", "k=v").ok(t)
	f.takeWrites()

	out := f.run(t, "job", "update", "g/n", "--cron", "0 30 2 * * ?", "--data", "k2=v2", "--retries", "1").ok(t)
	require.Contains(t, out, "cron 0 30 2 * * ? Asia/Tokyo")

	j := f.job(t, "g/n")
	require.Equal(t, "0 30 2 * * ?", j.Trigger.Cron)
	require.Equal(t, "Asia/Tokyo", j.Trigger.TimeZone, "a flag that keeps the kind keeps the other trigger fields")
	require.Equal(t, "batch", j.ClientGroup)
	require.Equal(t, []string{"--x"}, j.Executor.Args)
	require.Equal(t, map[string]string{"k": "v", "k2": "v2"}, j.Data)
	require.Equal(t, 1, j.Retries.Max)
	require.Equal(t, uint64(2), j.Version)
	require.Equal(t, []string{"PUT g/n"}, f.takeWrites())

	// A new kind starts a fresh trigger.
	f.run(t, "job", "update", "--group", "g", "--name", "n", "--every", "5s").ok(t)
	j = f.job(t, "g/n")
	require.Equal(t, scheduler.KindSimple, j.Trigger.Kind)
	require.Empty(t, j.Trigger.Cron)
	require.Equal(t, "UTC", j.Trigger.TimeZone)
}

func TestJobUpdateFromFile(t *testing.T) {
	dir := t.TempDir()
	f := newFakeAPI(t)
	f.run(t, "job", "create", "--group", "g", "--name", "n", "--cron", "0 0 2 * * ?", "--exec", "/bin/a", "--data", "k=v").ok(t)

	keyless := writeFile(t, dir, "n.yaml", "trigger: {kind: simple, interval: 2s}\nexecutor: {command: /bin/b}\n")
	f.run(t, "job", "update", "g/n", "-f", keyless, "--description", "from file").ok(t)
	j := f.job(t, "g/n")
	require.Equal(t, "/bin/b", j.Executor.Command)
	require.Equal(t, "from file", j.Description)
	require.Nil(t, j.Data, "the file replaces the whole job")

	other := writeFile(t, dir, "other.json", `{"group":"g","name":"other","trigger":{"kind":"simple","interval":"2s"},"executor":{"command":"x"}}`)
	r := f.run(t, "job", "update", "g/n", "-f", other)
	require.ErrorContains(t, r.err, "holds job g/other, not g/n")

	r = f.run(t, "job", "update", "g/n")
	require.EqualError(t, r.err, "nothing to update: pass flags such as --cron or --exec, or -f FILE")

	r = f.run(t, "job", "update", "g/missing", "--retries", "1")
	require.EqualError(t, r.err, "job g/missing not found")
}

func TestJobApplyDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", `{"group":"ops","name":"a","trigger":{"kind":"cron","cron":"0 0 * * * ?"},"executor":{"command":"/bin/a"}}`)
	writeFile(t, dir, "b.yaml", "group: ops\nname: b\ntrigger: {kind: simple, interval: 30s}\nexecutor: {command: /bin/b, args: [x]}\n")
	writeFile(t, dir, "c.yml", "group: ops\nname: c\ntrigger: {kind: cron, cron: '0 0 3 * * ?', time_zone: UTC}\nexecutor: {kind: process, command: /bin/c}\nclient_group: default\n")
	writeFile(t, dir, "notes.txt", "not a job")
	f := newFakeAPI(t)
	// c exists already, with another command: apply replaces it.
	f.run(t, "job", "create", "--group", "ops", "--name", "c", "--cron", "0 0 3 * * ?", "--exec", "/bin/old").ok(t)
	f.takeWrites()

	out := f.run(t, "job", "apply", "-f", dir).ok(t)
	require.Equal(t, "JOB    RESULT   FILE\n"+
		"ops/a  created  "+filepath.Join(dir, "a.json")+"\n"+
		"ops/b  created  "+filepath.Join(dir, "b.yaml")+"\n"+
		"ops/c  updated  "+filepath.Join(dir, "c.yml")+"\n", out)
	require.Equal(t, []string{"PUT ops/a", "PUT ops/b", "PUT ops/c"}, f.takeWrites())
	require.Equal(t, "/bin/c", f.job(t, "ops/c").Executor.Command)

	// The second run finds every job as its file says: nothing is written.
	r := f.run(t, "job", "apply", "-f", dir, "-o", "json")
	var results []applyResult
	require.NoError(t, json.Unmarshal([]byte(r.ok(t)), &results))
	require.Len(t, results, 3)
	for _, res := range results {
		require.Equal(t, applyUnchanged, res.Result, res.Job)
	}
	require.Empty(t, f.takeWrites())

	// One changed file is updated, the rest left alone.
	writeFile(t, dir, "b.yaml", "group: ops\nname: b\ntrigger: {kind: simple, interval: 45s}\nexecutor: {command: /bin/b, args: [x]}\n")
	out = f.run(t, "job", "apply", "-f", dir).ok(t)
	require.Contains(t, out, "ops/b  updated")
	require.Equal(t, []string{"PUT ops/b"}, f.takeWrites())
}

func TestJobApplyGoesOnAfterAFailureAndFails(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "1-bad-cron.json", `{"group":"ops","name":"bad","trigger":{"kind":"cron","cron":"* *"},"executor":{"command":"x"}}`)
	writeFile(t, dir, "2-broken.yaml", "group: [unclosed\n")
	writeFile(t, dir, "3-good.json", `{"group":"ops","name":"good","trigger":{"kind":"cron","cron":"0 0 * * * ?"},"executor":{"command":"x"}}`)
	writeFile(t, dir, "4-dup.json", `{"group":"ops","name":"good","trigger":{"kind":"cron","cron":"0 0 * * * ?"},"executor":{"command":"y"}}`)
	f := newFakeAPI(t)

	r := f.run(t, "job", "apply", "-f", dir)
	require.EqualError(t, r.err, "3 of 4 job files failed to apply")
	require.Contains(t, r.stdout, `ops/bad   failed: invalid trigger.cron: "* *" needs at least 6 fields`)
	require.Contains(t, r.stdout, "2-broken.yaml")
	require.Contains(t, r.stdout, "ops/good  created")
	require.Contains(t, r.stdout, "failed: job ops/good is also in "+filepath.Join(dir, "3-good.json"))
	require.Equal(t, []string{"PUT ops/good"}, f.takeWrites())

	r = f.run(t, "job", "apply", "-f", t.TempDir())
	require.ErrorContains(t, r.err, "holds no *.json, *.yaml or *.yml job files")
	r = f.run(t, "job", "apply")
	require.ErrorContains(t, r.err, "-f: give a job file or a directory")
}

func TestJobDeletePauseResumeTrigger(t *testing.T) {
	f := newFakeAPI(t)
	f.run(t, "job", "create", "--group", "g", "--name", "n", "--every", "1m", "--exec", "true").ok(t)

	out := f.run(t, "job", "pause", "g/n").ok(t)
	require.Contains(t, out, "g/n  id-g/n  every 1m  2026-12-03 18:05:00  paused")
	require.Equal(t, api.JobPaused, f.job(t, "g/n").State)

	f.run(t, "job", "resume", "--group", "g", "--name", "n").ok(t)
	require.Equal(t, api.JobNormal, f.job(t, "g/n").State)

	out = f.run(t, "job", "trigger", "g/n").ok(t)
	require.Equal(t, "exec-n-1\nexec-n-2\n", out)
	out = f.run(t, "job", "trigger", "g/n", "-o", "json").ok(t)
	require.JSONEq(t, `["exec-n-1","exec-n-2"]`, out)

	out = f.run(t, "job", "delete", "g/n").ok(t)
	require.Equal(t, "deleted job g/n\n", out)
	for _, verb := range []string{"delete", "pause", "resume", "trigger"} {
		r := f.run(t, "job", verb, "g/n")
		require.EqualError(t, r.err, "job g/n not found", verb)
	}
	require.True(t, strings.HasPrefix(f.run(t, "job", "delete").err.Error(), "which job?"))
}
