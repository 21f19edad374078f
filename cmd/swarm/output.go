package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// Output formats of -o/--output.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// tableTime is how tables show an instant: local time, to the second.
const tableTime = "2006-01-02 15:04:05"

// printer writes a command's result in the chosen format.
type printer struct {
	w      io.Writer
	format string
}

func newPrinter(w io.Writer, format string) (*printer, error) {
	switch format {
	case formatTable, formatJSON, formatYAML:
		return &printer{w: w, format: format}, nil
	}
	return nil, fmt.Errorf("--output: %q is not one of table, json, yaml", format)
}

// print writes v as JSON or YAML, or calls table for a table.
func (p *printer) print(v any, table func(w io.Writer) error) error {
	switch p.format {
	case formatJSON:
		return writeJSON(p.w, v)
	case formatYAML:
		return writeYAML(p.w, v)
	}
	return table(p.w)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// writeYAML writes v as YAML with the structure and field names of its
// JSON form: v is marshalled to JSON, read back as a YAML node tree (JSON
// is YAML), restyled as block YAML and written.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	blockStyle(&doc)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// blockStyle drops the flow and quoting styles the JSON text gave every
// node; the encoder still quotes a string that would otherwise read as
// another type. Strings that YAML 1.1 readers take for booleans ("yes",
// "off") stay quoted too.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && yaml11Bools[strings.ToLower(n.Value)] {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

var yaml11Bools = map[string]bool{"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true}

// table writes aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(headers) > 0 {
		t.row(headers...)
	}
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = oneLine(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// oneLine keeps a cell on one line and free of tabs; an empty cell shows
// as "-".
func oneLine(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// fields writes label/value pairs as two aligned columns; a pair without
// a value ("" or "-") is left out.
func fields(w io.Writer, pairs ...string) error {
	t := newTable(w)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" && pairs[i+1] != "-" {
			t.row(pairs[i], pairs[i+1])
		}
	}
	return t.flush()
}

// fmtTime shows an instant in local time, "-" when unset.
func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format(tableTime)
}

// fmtDuration humanizes d: 850ms, 12.3s, 4m5s, 2h10m, 3d4h.
func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%ds", d/time.Minute, (d%time.Minute)/time.Second)
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
}

// fmtTrigger summarizes a trigger in one cell.
func fmtTrigger(s scheduler.Spec) string {
	var parts []string
	switch s.Kind {
	case scheduler.KindCron:
		parts = append(parts, "cron "+s.Cron)
	case scheduler.KindSimple:
		parts = append(parts, "every "+fmtInterval(s.Interval))
		if s.RepeatCount != nil && *s.RepeatCount >= 0 {
			parts = append(parts, fmt.Sprintf("x%d", *s.RepeatCount+1))
		}
	case scheduler.KindDailyTimeInterval:
		parts = append(parts, fmt.Sprintf("every %s %s", fmtInterval(s.Interval), s.Unit))
		if len(s.DaysOfWeek) > 0 {
			parts = append(parts, strings.Join(s.DaysOfWeek, ","))
		}
		if s.StartTimeOfDay != "" || s.EndTimeOfDay != "" {
			parts = append(parts, orDefault(s.StartTimeOfDay, "00:00:00")+"-"+orDefault(s.EndTimeOfDay, "23:59:59"))
		}
	case scheduler.KindCalendarInterval:
		parts = append(parts, fmt.Sprintf("every %s %s", fmtInterval(s.Interval), s.Unit))
	default:
		parts = append(parts, s.Kind)
	}
	if s.TimeZone != "" && s.TimeZone != "UTC" {
		parts = append(parts, s.TimeZone)
	}
	if s.Calendar != "" {
		parts = append(parts, "calendar "+s.Calendar)
	}
	return strings.Join(parts, " ")
}

func fmtInterval(i scheduler.Interval) string {
	if i.IsCount {
		return strconv.FormatInt(i.Count, 10)
	}
	return shortDuration(i.Duration)
}

// shortDuration is d.String() without zero trailing units: 1m, 2h, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fmtMap shows a string map as k=v pairs in key order.
func fmtMap(m map[string]string) string {
	pairs := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		pairs = append(pairs, k+"="+m[k])
	}
	return strings.Join(pairs, ",")
}

// jobRow is the short table of the jobs a write answers.
func jobRow(w io.Writer, jobs ...api.Job) error {
	t := newTable(w, "KEY", "ID", "TRIGGER", "NEXT FIRE", "STATE")
	for _, j := range jobs {
		t.row(j.Key(), j.ID, fmtTrigger(j.Trigger), fmtTime(j.NextFireAt), j.State)
	}
	return t.flush()
}
