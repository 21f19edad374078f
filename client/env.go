package client

import (
	"encoding/json"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/protocol"
)

// timeFormat writes SWARM_SCHEDULED_AT and SWARM_FIRED_AT: RFC 3339 in
// UTC, with fractional seconds only when they are not zero.
const timeFormat = time.RFC3339Nano

// fireEnv returns the environment of a process run: base (the client's
// own environment), then the SWARM_* variables, then the executor's env.
// exec.Cmd keeps the last of duplicate keys, so later entries win.
func fireEnv(base []string, f *protocol.Fire) []string {
	group, name := splitJob(f.Job)
	piece := pieceOf(f)
	env := slices.Clone(base)
	env = append(env,
		"SWARM_EXECUTION_ID="+f.ExecID,
		"SWARM_ATTEMPT="+strconv.Itoa(f.Attempt),
		"SWARM_JOB="+f.Job,
		"SWARM_JOB_GROUP="+group,
		"SWARM_JOB_NAME="+name,
		"SWARM_SCHEDULED_AT="+formatTime(f.ScheduledAt),
		"SWARM_FIRED_AT="+formatTime(f.FiredAt),
		"SWARM_PIECE_INDEX="+strconv.Itoa(piece.Index),
		"SWARM_PIECE_COUNT="+strconv.Itoa(piece.Count),
		"SWARM_PIECE_PARAMETER="+piece.Parameter,
		"SWARM_DATA="+dataJSON(f.Data),
		"SWARM_SHARD="+strconv.Itoa(f.Shard),
		"SWARM_TERM="+strconv.FormatUint(f.Term, 10),
		"SWARM_LEADER="+f.Leader,
	)
	for _, k := range sortedKeys(f.Data) {
		env = append(env, dataEnvName(k)+"="+f.Data[k])
	}
	for _, k := range sortedKeys(f.Executor.Env) {
		env = append(env, k+"="+f.Executor.Env[k])
	}
	return env
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// splitJob splits "group/name"; a job without a slash is all name.
func splitJob(job string) (group, name string) {
	if g, n, ok := strings.Cut(job, "/"); ok {
		return g, n
	}
	return "", job
}

// pieceOf returns the fire's piece; a fire that is not split is piece 0
// of 1.
func pieceOf(f *protocol.Fire) api.Piece {
	if f.Piece == nil {
		return api.Piece{Index: 0, Count: 1}
	}
	return *f.Piece
}

func dataJSON(data map[string]string) string {
	if data == nil {
		data = map[string]string{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return "{}" // a map of strings always marshals
	}
	return string(b)
}

// dataEnvName is SWARM_DATA_ and the key upper-cased, with every byte
// that is not an ASCII letter or digit written as '_'.
func dataEnvName(key string) string {
	b := []byte(strings.ToUpper(key))
	for i, ch := range b {
		if !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			b[i] = '_'
		}
	}
	return "SWARM_DATA_" + string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// commandArgv is the argv of a process executor: the command and its
// args, or in shell mode /bin/sh -c command, with the args as $1...
func commandArgv(e api.Executor) []string {
	if e.Shell {
		return append([]string{"/bin/sh", "-c", e.Command, "sh"}, e.Args...)
	}
	return append([]string{e.Command}, e.Args...)
}

// allowed reports whether patterns allow command; no patterns allow all.
func allowed(patterns []string, command string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, command); ok {
			return true
		}
	}
	return false
}
