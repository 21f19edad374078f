package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// jobFileExts are the extensions `job apply` reads from a directory.
var jobFileExts = []string{".json", ".yaml", ".yml"}

// readFileArg reads path, or stdin when path is "-".
func readFileArg(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}

// decodeFile decodes one JSON or YAML object into v, refusing unknown
// fields so that a misspelt field is an error rather than a silent
// default. YAML is read by way of JSON, so both take the same field names
// and value forms ("30m", "1500ms").
func decodeFile(path string, stdin io.Reader, v any) error {
	data, err := readFileArg(path, stdin)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if isYAML(path, data) {
		if data, err = yamlToJSON(data); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("read %s: holds more than one object; put one per file", path)
	}
	return nil
}

// isYAML goes by the extension, else by whether the text starts like JSON.
func isYAML(path string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return true
	case ".json":
		return false
	}
	trimmed := bytes.TrimSpace(data)
	return len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[')
}

// yamlToJSON converts one YAML document to JSON.
func yamlToJSON(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("is empty")
		}
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document; put one per file")
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonable makes YAML's decoded values marshal as JSON: map keys become
// strings.
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range x {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	}
	return v, nil
}

// readJobFile reads one job from a JSON or YAML file ("-": stdin).
func readJobFile(path string, stdin io.Reader) (*api.Job, error) {
	var j api.Job
	if err := decodeFile(path, stdin, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// jobFiles lists the job files of path: path itself, or the *.json,
// *.yaml and *.yml files of a directory, in name order.
func jobFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && slices.Contains(jobFileExts, strings.ToLower(filepath.Ext(e.Name()))) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no *.json, *.yaml or *.yml job files", path)
	}
	return files, nil
}

// clearReadOnly drops the fields the server sets, before a job is sent.
func clearReadOnly(j *api.Job) {
	j.ID, j.State, j.Version, j.TimesTriggered = "", "", 0, 0
	j.NextFireAt, j.PrevFireAt, j.CreatedAt, j.UpdatedAt = nil, nil, nil, nil
}

// sameJob reports whether sending want would leave the stored job, have,
// unchanged. Both are normalized (defaults filled in, read-only fields
// dropped) and compared as JSON.
func sameJob(want, have *api.Job) bool {
	a, errA := canonicalJob(want)
	b, errB := canonicalJob(have)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

func canonicalJob(j *api.Job) ([]byte, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	var c api.Job
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if _, err := c.Normalize(); err != nil {
		// This build cannot compile the trigger (a newer server may know
		// kinds it does not): fill the shared defaults the same way on both
		// sides instead.
		// TODO: the fallback knows only the shared defaults; where the
		// server fills more for such a kind (days_of_week, times of day),
		// apply reports the job updated and PUTs it again on every run.
		fillDefaults(&c)
	}
	return json.Marshal(&c)
}

// fillDefaults fills the defaults every interface shares (DESIGN.md)
// without compiling the trigger.
func fillDefaults(j *api.Job) {
	clearReadOnly(j)
	t := &j.Trigger
	t.TimeZone = orDefault(t.TimeZone, "UTC")
	if t.Priority == 0 {
		t.Priority = scheduler.DefaultPriority
	}
	if t.RepeatCount == nil && (t.Kind == scheduler.KindSimple || t.Kind == scheduler.KindDailyTimeInterval) {
		forever := int64(-1)
		t.RepeatCount = &forever
	}
	j.Executor.Kind = orDefault(j.Executor.Kind, api.ExecutorProcess)
	j.Perform.Kind = orDefault(j.Perform.Kind, api.PerformWebSocket)
	j.ClientGroup = orDefault(j.ClientGroup, api.DefaultGroup)
	j.Routing = orDefault(j.Routing, api.RoutingAny)
	j.Concurrency = orDefault(j.Concurrency, api.ConcurrencyAllow)
}

// triggerFlags are the shorthand trigger flags of job create, job update
// and trigger preview.
type triggerFlags struct {
	cron     string
	every    time.Duration
	repeat   int64
	timeZone string
}

func (f *triggerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cron, "cron", "", "Quartz cron expression with seconds, e.g. \"0 0 2 * * ?\"")
	fs.DurationVar(&f.every, "every", 0, "fire at a fixed interval, e.g. 1500ms or 1h")
	fs.Int64Var(&f.repeat, "repeat", -1, "with --every: fire N more times after the first (-1: forever)")
	fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone of the trigger (default UTC)")
}

// given reports whether a flag that makes a trigger was given.
func (f *triggerFlags) given(fs *pflag.FlagSet) bool {
	return fs.Changed("cron") || fs.Changed("every")
}

// apply writes the given flags onto t. A new kind starts a fresh trigger;
// the same kind keeps the fields the flags do not name.
func (f *triggerFlags) apply(fs *pflag.FlagSet, t *scheduler.Spec) error {
	if fs.Changed("cron") && fs.Changed("every") {
		return errors.New("--cron and --every: give one of them")
	}
	if fs.Changed("cron") {
		if t.Kind != scheduler.KindCron {
			*t = scheduler.Spec{Kind: scheduler.KindCron}
		}
		t.Cron = f.cron
	}
	if fs.Changed("every") {
		if f.every <= 0 {
			return errors.New("--every: must be a positive duration such as 30s")
		}
		if t.Kind != scheduler.KindSimple {
			*t = scheduler.Spec{Kind: scheduler.KindSimple}
		}
		t.Interval = scheduler.Interval{Duration: f.every}
	}
	if fs.Changed("repeat") {
		if t.Kind != scheduler.KindSimple && t.Kind != scheduler.KindDailyTimeInterval {
			return errors.New("--repeat: only for an --every trigger")
		}
		n := f.repeat
		t.RepeatCount = &n
	}
	if fs.Changed("time-zone") {
		t.TimeZone = f.timeZone
	}
	return nil
}

// jobFlags are the flags that write a job: job create and job update.
type jobFlags struct {
	file        string
	withKey     bool   // --group and --name write the job's key (create)
	group, name string // create only; update takes the key as its argument
	description string
	trigger     triggerFlags
	exec        string
	shell       bool
	handler     string
	clientGroup string
	routing     string
	concurrency string
	timeout     time.Duration
	retries     int
	data        []string
}

// register adds the flags; withKey adds --group and --name.
func (f *jobFlags) register(fs *pflag.FlagSet, withKey bool) {
	fs.StringVarP(&f.file, "file", "f", "", "job file (JSON or YAML; - for stdin); flags given too override its fields")
	f.withKey = withKey
	if withKey {
		fs.StringVar(&f.group, "group", "", "job group")
		fs.StringVar(&f.name, "name", "", "job name")
	}
	fs.StringVar(&f.description, "description", "", "free text about the job")
	f.trigger.register(fs)
	fs.StringVar(&f.exec, "exec", "", "command and arguments to run, split like a shell does (\"cmd 'an arg'\")")
	fs.BoolVar(&f.shell, "shell", false, "run --exec with /bin/sh -c instead of splitting it")
	fs.StringVar(&f.handler, "handler", "", "run an in-process handler registered by a Go client instead of a command")
	fs.StringVar(&f.clientGroup, "client-group", "", "client group whose workers run the job (default \"default\")")
	fs.StringVar(&f.routing, "routing", "", "any, round_robin, least_busy, consistent_hash or broadcast (default any)")
	fs.StringVar(&f.concurrency, "concurrency", "", "allow, forbid (skip while running) or replace (default allow)")
	fs.DurationVar(&f.timeout, "timeout", 0, "kill a run after this long (default none)")
	fs.IntVar(&f.retries, "retries", 0, "further attempts after a failed run")
	fs.StringArrayVar(&f.data, "data", nil, "key=value handed to the run (repeatable)")
}

// jobFieldFlags are the flags that write a job's fields.
var jobFieldFlags = []string{
	"description", "cron", "every", "repeat", "time-zone", "exec", "shell", "handler",
	"client-group", "routing", "concurrency", "timeout", "retries", "data",
}

// changed reports whether any flag that writes a job field was given.
func (f *jobFlags) changed(fs *pflag.FlagSet) bool {
	return slices.ContainsFunc(jobFieldFlags, fs.Changed)
}

// apply writes the given flags onto j.
func (f *jobFlags) apply(fs *pflag.FlagSet, j *api.Job) error {
	set := fs.Changed
	if f.withKey && set("group") {
		j.Group = f.group
	}
	if f.withKey && set("name") {
		j.Name = f.name
	}
	if set("description") {
		j.Description = f.description
	}
	if err := f.trigger.apply(fs, &j.Trigger); err != nil {
		return err
	}
	if err := f.applyExecutor(fs, &j.Executor); err != nil {
		return err
	}
	if set("client-group") {
		j.ClientGroup = f.clientGroup
	}
	if set("routing") {
		j.Routing = f.routing
	}
	if set("concurrency") {
		j.Concurrency = f.concurrency
	}
	if set("timeout") {
		j.Timeout = api.Duration(f.timeout)
	}
	if set("retries") {
		j.Retries.Max = f.retries
	}
	return f.applyData(j)
}

func (f *jobFlags) applyExecutor(fs *pflag.FlagSet, e *api.Executor) error {
	if fs.Changed("exec") && fs.Changed("handler") {
		return errors.New("--exec and --handler: give one of them")
	}
	if fs.Changed("handler") {
		*e = api.Executor{Kind: api.ExecutorHandler, Name: f.handler}
		return nil
	}
	shell := e.Shell
	if fs.Changed("shell") {
		shell = f.shell
	}
	if !fs.Changed("exec") {
		e.Shell = shell
		return nil
	}
	e.Kind, e.Name, e.Shell = api.ExecutorProcess, "", shell
	if shell {
		e.Command, e.Args = f.exec, nil
		return nil
	}
	words, err := splitCommand(f.exec)
	if err != nil {
		return fmt.Errorf("--exec: %w", err)
	}
	if len(words) == 0 {
		return errors.New("--exec: is empty")
	}
	e.Command, e.Args = words[0], words[1:]
	return nil
}

func (f *jobFlags) applyData(j *api.Job) error {
	for _, kv := range f.data {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--data: want key=value, got %q", kv)
		}
		if j.Data == nil {
			j.Data = map[string]string{}
		}
		j.Data[k] = v
	}
	return nil
}

// build makes the job to create: the file's, if any, with the flags on
// top.
func (f *jobFlags) build(fs *pflag.FlagSet, stdin io.Reader) (*api.Job, error) {
	j := &api.Job{}
	if f.file != "" {
		var err error
		if j, err = readJobFile(f.file, stdin); err != nil {
			return nil, err
		}
	}
	if err := f.apply(fs, j); err != nil {
		return nil, err
	}
	if f.file == "" {
		if err := missingJobFlags(j); err != nil {
			return nil, err
		}
	}
	clearReadOnly(j)
	return j, nil
}

// missingJobFlags names the flags a job made from flags alone lacks.
func missingJobFlags(j *api.Job) error {
	var missing []string
	if j.Group == "" {
		missing = append(missing, "--group")
	}
	if j.Name == "" {
		missing = append(missing, "--name")
	}
	if j.Trigger.Kind == "" {
		missing = append(missing, "--cron or --every")
	}
	if j.Executor.Kind == "" {
		missing = append(missing, "--exec or --handler")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (or pass -f FILE)", strings.Join(missing, ", "))
	}
	return nil
}

// splitCommand splits s into words as a POSIX shell does, without running
// one: blanks separate words; single quotes keep everything literally;
// double quotes keep everything but a backslash before " \ $ or `; outside
// quotes a backslash keeps the next character (and drops a newline).
// Nothing is expanded.
func splitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("ends in a lone backslash")
			}
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		case r == '\'':
			end := indexRune(rs, i+1, '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(string(rs[i+1 : end]))
			i, inWord = end, true
		case r == '"':
			end, err := readDoubleQuoted(rs, i+1, &cur)
			if err != nil {
				return nil, err
			}
			i, inWord = end, true
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// readDoubleQuoted copies the inside of a double-quoted string starting at
// rs[i] into cur and returns the index of the closing quote.
func readDoubleQuoted(rs []rune, i int, cur *strings.Builder) (int, error) {
	for ; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '"':
			return i, nil
		case r == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[i+1]):
			i++
			cur.WriteRune(rs[i])
		case r == '\\' && i+1 < len(rs) && rs[i+1] == '\n':
			i++
		default:
			cur.WriteRune(r)
		}
	}
	return 0, errors.New("unterminated double quote")
}

func indexRune(rs []rune, from int, r rune) int {
	for i := from; i < len(rs); i++ {
		if rs[i] == r {
			return i
		}
	}
	return -1
}
