package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of one run, written to report.json.
type Report struct {
	Profile      string            `json:"profile"`
	Seed         int64             `json:"seed"`
	Binary       string            `json:"binary"`
	Replay       string            `json:"replay"`
	ArtifactsDir string            `json:"artifacts_dir"`
	Started      time.Time         `json:"started"`
	Wall         string            `json:"wall"`
	Servers      int               `json:"servers"`
	Clients      int               `json:"clients"`
	Shards       int               `json:"shards"`
	SkippedKinds map[string]string `json:"skipped_kinds,omitempty"`
	FaultPhase   [2]time.Time      `json:"fault_phase"`
	Faults       map[string]int    `json:"faults"`

	Ops          int            `json:"ops"`
	OpsByOutcome map[string]int `json:"ops_by_outcome"`
	Linearizable LinearResult   `json:"linearizable"`
	FinalState   FinalResult    `json:"final_state"`
	Slots        SlotResult     `json:"slots"`
	Leaders      LeaderResult   `json:"leaders"`
	Digests      DigestResult   `json:"digests"`

	Load            LoadStats           `json:"load_during_faults"`
	Lateness        Lateness            `json:"lateness"`
	LatenessByFault map[string]Lateness `json:"lateness_by_fault"`

	PendingAfterSettle int      `json:"pending_after_settle"`
	SinkLines          int      `json:"sink_lines"`
	SinkMalformed      []string `json:"sink_malformed,omitempty"`
	ExecsSeen          int      `json:"executions_seen"`
	ExecPollFailures   int      `json:"execution_poll_failures"`
	Exits              []Exit   `json:"unexpected_exits,omitempty"`
	DiskUsedBytes      uint64   `json:"tmpfs_used_bytes,omitempty"`
	Problems           []string `json:"harness_problems,omitempty"`

	Violations []Violation `json:"violations"`
	Passed     bool        `json:"passed"`
}

// collect gathers the checkers' violations and decides the verdict.
func (r *Report) collect() {
	r.Violations = nil
	for _, vs := range [][]Violation{r.Linearizable.Violations, r.FinalState.Violations, r.Slots.Violations,
		r.Leaders.Violations, r.Digests.Violations} {
		r.Violations = append(r.Violations, vs...)
	}
	for _, line := range r.SinkMalformed {
		r.Violations = append(r.Violations, Violation{Check: "sink", Subject: "sink.tsv", Message: "malformed line " + line})
	}
	r.Passed = len(r.Violations) == 0
}

// write stores the report as JSON in dir.
func (r *Report) write(dir string) error {
	return writeJSON(dir+"/report.json", r)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// maxListed caps the violations the summary prints; report.json has all.
const maxListed = 25

// Summary is the human-readable outcome.
func (r *Report) Summary() string {
	var b strings.Builder
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "swarm chaos %s: profile %s, seed %d, %d servers, %d clients, %d shards, wall %s\n",
		verdict, r.Profile, r.Seed, r.Servers, r.Clients, r.Shards, r.Wall)
	fmt.Fprintf(&b, "faults injected: %s\n", countList(r.Faults))
	for k, why := range r.SkippedKinds {
		fmt.Fprintf(&b, "fault kind %s SKIPPED: %s\n", k, why)
	}
	fmt.Fprintf(&b, "job CRUD: %d ops (%s); linearizable: %s over %d keys (%d maybe-applied writes)\n",
		r.Ops, countList(r.OpsByOutcome), r.Linearizable.Verdict, r.Linearizable.Keys, r.Linearizable.Unknown)
	fmt.Fprintf(&b, "final state: %d keys, %d present\n", r.FinalState.Keys, r.FinalState.Present)
	fmt.Fprintf(&b, "slots: %d jobs, %d slots checked, %d ran once, excused %s\n",
		r.Slots.Jobs, r.Slots.Slots, r.Slots.RanOnce, countList(r.Slots.Excused))
	if r.PendingAfterSettle > 0 {
		fmt.Fprintf(&b, "slots still pending when the settle bound passed: %d\n", r.PendingAfterSettle)
	}
	fmt.Fprintf(&b, "fencing: %d runs checked against %d (shard, term) leaderships\n", r.Leaders.Fires, r.Leaders.Terms)
	fmt.Fprintf(&b, "replicas: %d of %d shards converged to one digest\n", r.Digests.Converged, r.Digests.Shards)
	fmt.Fprintf(&b, "machine load (1-min average) during the fault phase: mean %.1f, max %.1f on %d cpus\n", r.Load.Mean, r.Load.Max, r.Load.CPUs)
	fmt.Fprintf(&b, "lateness (ms): all %s\n", r.Lateness)
	for _, k := range sortedLateness(r.LatenessByFault) {
		fmt.Fprintf(&b, "  under %-18s %s\n", k, r.LatenessByFault[k])
	}
	if len(r.Exits) > 0 {
		fmt.Fprintf(&b, "processes that exited on their own: %d (first: %s %s at %s)\n",
			len(r.Exits), r.Exits[0].Process, r.Exits[0].Status, r.Exits[0].At.Format(time.RFC3339))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "harness problem: %s\n", p)
	}
	for i, v := range r.Violations {
		if i == maxListed {
			fmt.Fprintf(&b, "... and %d more violations in report.json\n", len(r.Violations)-maxListed)
			break
		}
		fmt.Fprintf(&b, "VIOLATION [%s] %s: %s\n", v.Check, v.Subject, v.Message)
	}
	fmt.Fprintf(&b, "artifacts: %s\nreplay: %s\n", r.ArtifactsDir, r.Replay)
	return b.String()
}

func (l Lateness) String() string {
	return fmt.Sprintf("n=%d p50=%.0f p99=%.0f max=%.0f", l.Count, l.P50, l.P99, l.Max)
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func sortedLateness(m map[string]Lateness) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
