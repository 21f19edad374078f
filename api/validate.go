package api

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/swarmsched/swarm/scheduler"
)

// Limits on job fields.
const (
	MaxJobBytes       = 1 << 20 // body limit of one job
	MaxShardingCount  = 1024
	MaxRetries        = 100
	MaxDataEntries    = 256
	MaxNotify         = 8    // alert webhooks of one job
	MaxNotifyHeaders  = 32   // headers of one alert webhook
	MaxNotifyURLBytes = 2048 // length of an alert webhook's URL
	DefaultBackoff    = 10 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether s is a valid group, name or client group.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// CheckName validates a group or name value.
func CheckName(field, s string) error {
	if s == "" {
		return Invalid(field, "is required")
	}
	if !ValidName(s) {
		return Invalid(field, "%q must match %s", s, nameRE.String())
	}
	return nil
}

// Normalize validates the user-writable fields of j and fills in the
// defaults every interface shares. Read-only fields are cleared. It returns
// an *Error naming the first offending field, and the compiled trigger.
func (j *Job) Normalize() (scheduler.Trigger, error) {
	j.clearReadOnly()
	if err := CheckName("group", j.Group); err != nil {
		return nil, err
	}
	if err := CheckName("name", j.Name); err != nil {
		return nil, err
	}
	if err := noControl("description", j.Description, true); err != nil {
		return nil, err
	}

	trig, err := CompileTrigger("trigger", j.Trigger)
	if err != nil {
		return nil, err
	}
	j.Trigger = trig.Spec()

	steps := []func() error{j.normalizeExecutor, j.normalizePerform, j.normalizeRouting, j.normalizePolicy, j.normalizeData, j.normalizeNotify}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return trig, nil
}

// CompileTrigger compiles spec, reporting errors under prefix ("trigger").
func CompileTrigger(prefix string, spec scheduler.Spec) (scheduler.Trigger, error) {
	trig, err := scheduler.Compile(spec)
	if err == nil {
		return trig, nil
	}
	var fe *scheduler.FieldError
	if errors.As(err, &fe) {
		return nil, Invalid(prefix+"."+fe.Field, "%s", fe.Message)
	}
	return nil, Invalid(prefix, "%s", err.Error())
}

func (j *Job) clearReadOnly() {
	j.ID, j.State, j.Version = "", "", 0
	j.NextFireAt, j.PrevFireAt, j.CreatedAt, j.UpdatedAt = nil, nil, nil, nil
	j.TimesTriggered = 0
}

func (j *Job) normalizeExecutor() error {
	e := &j.Executor
	if e.Kind == "" {
		e.Kind = ExecutorProcess
	}
	switch e.Kind {
	case ExecutorProcess:
		if strings.TrimSpace(e.Command) == "" {
			return Invalid("executor.command", "is required for a process executor")
		}
		if e.Name != "" {
			return Invalid("executor.name", "is only for a handler executor")
		}
	case ExecutorHandler:
		if e.Name == "" {
			return Invalid("executor.name", "is required for a handler executor")
		}
		if e.Command != "" || len(e.Args) > 0 {
			return Invalid("executor.command", "is only for a process executor")
		}
	default:
		return Invalid("executor.kind", "%q is not one of process, handler", e.Kind)
	}
	if err := noControl("executor.command", e.Command, false); err != nil {
		return err
	}
	if err := noControl("executor.name", e.Name, false); err != nil {
		return err
	}
	if err := noControl("executor.dir", e.Dir, false); err != nil {
		return err
	}
	for i, a := range e.Args {
		if err := noControl(fmt.Sprintf("executor.args[%d]", i), a, false); err != nil {
			return err
		}
	}
	return checkMap("executor.env", e.Env, false)
}

func (j *Job) normalizePerform() error {
	p := &j.Perform
	if p.Kind == "" {
		p.Kind = PerformWebSocket
	}
	switch p.Kind {
	case PerformWebSocket:
		if p.URL != "" || p.Topic != "" || len(p.Brokers) > 0 {
			return Invalid("perform.kind", "websocket takes no url, brokers or topic")
		}
	case PerformHTTP:
		u, err := url.Parse(p.URL)
		if p.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Invalid("perform.url", "must be an http or https URL")
		}
		p.Method = strings.ToUpper(p.Method)
		if p.Method == "" {
			p.Method = "POST"
		}
		if p.Method != "POST" && p.Method != "PUT" {
			return Invalid("perform.method", "%q is not one of POST, PUT", p.Method)
		}
		if p.Timeout < 0 {
			return Invalid("perform.timeout", "must not be negative")
		}
	case PerformKafka:
		if len(p.Brokers) == 0 {
			return Invalid("perform.brokers", "is required for kafka")
		}
		if p.Topic == "" {
			return Invalid("perform.topic", "is required for kafka")
		}
		for i, b := range p.Brokers {
			if err := noControl(fmt.Sprintf("perform.brokers[%d]", i), b, false); err != nil {
				return err
			}
		}
	default:
		return Invalid("perform.kind", "%q is not one of websocket, http, kafka", p.Kind)
	}
	return nil
}

func (j *Job) normalizeRouting() error {
	if j.ClientGroup == "" {
		j.ClientGroup = DefaultGroup
	}
	if err := CheckName("client_group", j.ClientGroup); err != nil {
		return err
	}
	if j.Routing == "" {
		j.Routing = RoutingAny
	}
	switch j.Routing {
	case RoutingAny, RoutingRoundRobin, RoutingLeastBusy, RoutingConsistentHash, RoutingBroadcast:
	case RoutingClientLabels:
		if len(j.ClientLabels) == 0 {
			return Invalid("client_labels", "is required with routing client_labels")
		}
	default:
		return Invalid("routing", "%q is not one of any, round_robin, least_busy, consistent_hash, broadcast, client_labels", j.Routing)
	}
	if err := checkMap("client_labels", j.ClientLabels, false); err != nil {
		return err
	}
	if j.ShardingCount < 0 || j.ShardingCount > MaxShardingCount {
		return Invalid("sharding_count", "must be between 0 and %d", MaxShardingCount)
	}
	if j.ShardingCount == 0 && len(j.ShardingParameters) > 0 {
		j.ShardingCount = len(j.ShardingParameters)
	}
	if len(j.ShardingParameters) > j.ShardingCount {
		return Invalid("sharding_parameters", "has %d entries, more than sharding_count %d", len(j.ShardingParameters), j.ShardingCount)
	}
	if j.ShardingCount > 1 && j.Routing == RoutingBroadcast {
		return Invalid("sharding_count", "cannot be combined with routing broadcast")
	}
	for i, p := range j.ShardingParameters {
		if err := noControl(fmt.Sprintf("sharding_parameters[%d]", i), p, false); err != nil {
			return err
		}
	}
	return nil
}

func (j *Job) normalizePolicy() error {
	if j.Concurrency == "" {
		j.Concurrency = ConcurrencyAllow
	}
	switch j.Concurrency {
	case ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace:
	default:
		return Invalid("concurrency", "%q is not one of allow, forbid, replace", j.Concurrency)
	}
	if j.Timeout < 0 {
		return Invalid("timeout", "must not be negative")
	}
	r := &j.Retries
	if r.Max < 0 || r.Max > MaxRetries {
		return Invalid("retries.max", "must be between 0 and %d", MaxRetries)
	}
	if r.Backoff < 0 {
		return Invalid("retries.backoff", "must not be negative")
	}
	if r.MaxBackoff < 0 {
		return Invalid("retries.max_backoff", "must not be negative")
	}
	if r.Max > 0 {
		if r.Backoff == 0 {
			r.Backoff = Duration(DefaultBackoff)
		}
		if r.MaxBackoff == 0 {
			r.MaxBackoff = Duration(max(DefaultMaxBackoff, r.Backoff.D()))
		}
		if r.MaxBackoff < r.Backoff {
			return Invalid("retries.max_backoff", "must not be less than retries.backoff")
		}
	}
	return nil
}

func (j *Job) normalizeData() error {
	if len(j.Data) > MaxDataEntries {
		return Invalid("data", "has %d entries, at most %d are allowed", len(j.Data), MaxDataEntries)
	}
	return checkMap("data", j.Data, false)
}

func (j *Job) normalizeNotify() error {
	if len(j.Notify) > MaxNotify {
		return Invalid("notify", "has %d webhooks, at most %d are allowed", len(j.Notify), MaxNotify)
	}
	for i := range j.Notify {
		if err := j.Notify[i].normalize(fmt.Sprintf("notify[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// normalize checks one webhook and fills in the default events (all).
func (n *Notify) normalize(field string) error {
	u, err := url.Parse(n.URL)
	switch {
	case n.URL == "":
		return Invalid(field+".url", "is required")
	case len(n.URL) > MaxNotifyURLBytes:
		return Invalid(field+".url", "is longer than %d bytes", MaxNotifyURLBytes)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return Invalid(field+".url", "must be an http or https URL")
	}
	if err := noControl(field+".url", n.URL, false); err != nil {
		return err
	}

	if len(n.On) == 0 {
		n.On = slices.Clone(NotifyEvents)
	}
	for i, e := range n.On {
		if !slices.Contains(NotifyEvents, e) {
			return Invalid(fmt.Sprintf("%s.on[%d]", field, i), "%q is not one of %s", e, strings.Join(NotifyEvents, ", "))
		}
	}

	if len(n.Headers) > MaxNotifyHeaders {
		return Invalid(field+".headers", "has %d entries, at most %d are allowed", len(n.Headers), MaxNotifyHeaders)
	}
	for _, k := range sortedKeys(n.Headers) {
		if !headerName.MatchString(k) {
			return Invalid(field+".headers", "%q is not a valid header name", k)
		}
	}
	return checkMap(field+".headers", n.Headers, false)
}

// headerName is an HTTP header field name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// checkMap refuses empty keys and control characters in keys and values.
func checkMap(field string, m map[string]string, allowNewlines bool) error {
	for _, k := range sortedKeys(m) { // report the same key every time
		if k == "" {
			return Invalid(field, "has an empty key")
		}
		if strings.ContainsRune(k, '=') && field == "executor.env" {
			return Invalid(field+"."+k, "key must not contain '='")
		}
		if err := noControl(field, k, false); err != nil {
			return err
		}
		if err := noControl(field+"."+k, m[k], allowNewlines); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// noControl refuses control characters (and NUL); newlines and tabs pass
// where multi-line text is legitimate.
func noControl(field, s string, allowNewlines bool) error {
	for _, r := range s {
		if allowNewlines && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return Invalid(field, "must not contain control characters")
		}
	}
	return nil
}
