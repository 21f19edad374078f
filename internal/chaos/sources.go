package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// readSink parses the sink file. Lines that do not parse are returned as
// errors, never silently dropped.
func readSink(path string) ([]Fire, []string, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read sink: %w", err)
	}
	defer f.Close()
	var fires []Fire
	var bad []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fire, err := parseSinkLine(sc.Text())
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v: %q", n, err, sc.Text()))
			continue
		}
		fires = append(fires, fire)
	}
	if err := sc.Err(); err != nil {
		return fires, bad, fmt.Errorf("read sink: %w", err)
	}
	return fires, bad, nil
}

// parseSinkLine reads job, scheduled_at, exec id, attempt, shard, term,
// leader, client, run time (unix ns), tab-separated.
func parseSinkLine(line string) (Fire, error) {
	col := strings.Split(line, "\t")
	if len(col) != 9 {
		return Fire{}, fmt.Errorf("%d columns, want 9", len(col))
	}
	var f Fire
	var err error
	f.Job, f.ExecID, f.Leader, f.Client = col[0], col[2], col[6], col[7]
	if f.ScheduledAt, err = time.Parse(time.RFC3339Nano, col[1]); err != nil {
		return f, fmt.Errorf("scheduled_at: %w", err)
	}
	if f.Attempt, err = strconv.Atoi(col[3]); err != nil {
		return f, fmt.Errorf("attempt: %w", err)
	}
	if f.Shard, err = strconv.Atoi(col[4]); err != nil {
		return f, fmt.Errorf("shard: %w", err)
	}
	if f.Term, err = strconv.ParseUint(col[5], 10, 64); err != nil {
		return f, fmt.Errorf("term: %w", err)
	}
	ns, err := strconv.ParseInt(col[8], 10, 64)
	if err != nil {
		return f, fmt.Errorf("run time: %w", err)
	}
	f.RanAt = time.Unix(0, ns)
	if f.Job == "" || f.ExecID == "" || f.Leader == "" {
		return f, fmt.Errorf("empty job, exec id or leader")
	}
	return f, nil
}

// logLine is the part of a server's JSON log line the checks read.
type logLine struct {
	Time  time.Time `json:"time"`
	Msg   string    `json:"msg"`
	Shard *int      `json:"shard"`
	Term  uint64    `json:"term"`
}

// readLeaderships reads the "shard leadership gained" lines of server's
// log (JSON lines; other lines are skipped).
func readLeaderships(path, server string) ([]Leadership, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read leaderships: %w", err)
	}
	defer f.Close()
	var out []Leadership
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if !strings.Contains(string(b), "shard leadership gained") {
			continue
		}
		var l logLine
		if json.Unmarshal(b, &l) != nil || l.Msg != "shard leadership gained" || l.Shard == nil {
			continue
		}
		out = append(out, Leadership{Shard: *l.Shard, Term: l.Term, Server: server, At: l.Time})
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read leaderships: %w", err)
	}
	return out, nil
}
