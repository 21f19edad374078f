package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/swarmsched/swarm/scheduler"
)

// Job states.
const (
	JobNormal   = "normal"
	JobPaused   = "paused"
	JobComplete = "complete"
)

// Execution states.
const (
	ExecScheduled  = "scheduled"
	ExecDispatched = "dispatched"
	ExecRunning    = "running"
	ExecSucceeded  = "succeeded"
	ExecFailed     = "failed"
	ExecTimedOut   = "timed_out"
	ExecLost       = "lost"
	ExecSkipped    = "skipped"
	ExecKilled     = "killed"
)

// Reasons an execution was skipped.
const (
	ReasonNoClient    = "no_client"
	ReasonMisfire     = "misfire"
	ReasonConcurrency = "concurrency"
	ReasonPaused      = "paused"
	ReasonDeleted     = "deleted"
	ReasonUpdated     = "updated"
)

// Executor kinds.
const (
	ExecutorProcess = "process"
	ExecutorHandler = "handler"
)

// Perform kinds.
const (
	PerformWebSocket = "websocket"
	PerformHTTP      = "http"
	PerformKafka     = "kafka"
)

// Routing modes.
const (
	RoutingAny            = "any"
	RoutingRoundRobin     = "round_robin"
	RoutingLeastBusy      = "least_busy"
	RoutingConsistentHash = "consistent_hash"
	RoutingBroadcast      = "broadcast"
	RoutingClientLabels   = "client_labels"
)

// Concurrency policies.
const (
	ConcurrencyAllow   = "allow"
	ConcurrencyForbid  = "forbid"
	ConcurrencyReplace = "replace"
)

// DefaultGroup is the default client group of jobs and clients.
const DefaultGroup = "default"

// Job is a job as users write it and as the server returns it. The
// read-only fields (ID, State, NextFireAt, ...) are set by the server and
// ignored on input.
type Job struct {
	Group       string         `json:"group"`
	Name        string         `json:"name"`
	ID          string         `json:"id,omitempty"`
	Description string         `json:"description,omitempty"`
	Trigger     scheduler.Spec `json:"trigger"`
	Executor    Executor       `json:"executor"`
	Perform     Perform        `json:"perform,omitzero"`

	ClientGroup        string            `json:"client_group,omitempty"`
	Routing            string            `json:"routing,omitempty"`
	ClientLabels       map[string]string `json:"client_labels,omitempty"`
	ShardingCount      int               `json:"sharding_count,omitempty"`
	ShardingParameters []string          `json:"sharding_parameters,omitempty"`

	Concurrency string            `json:"concurrency,omitempty"`
	Timeout     Duration          `json:"timeout,omitzero"`
	Retries     Retries           `json:"retries,omitzero"`
	Data        map[string]string `json:"data,omitempty"`
	Notify      []Notify          `json:"notify,omitempty"`

	// Read-only, set by the server.
	State          string     `json:"state,omitempty"`
	NextFireAt     *time.Time `json:"next_fire_at,omitempty"`
	PrevFireAt     *time.Time `json:"prev_fire_at,omitempty"`
	TimesTriggered int64      `json:"times_triggered,omitempty"`
	Version        uint64     `json:"version,omitempty"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
}

// Key is the job's unique key, "group/name".
func (j *Job) Key() string { return j.Group + "/" + j.Name }

// Executor says what a worker runs for a fire.
type Executor struct {
	Kind string `json:"kind"` // process or handler

	// process
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
	Shell   bool              `json:"shell,omitempty"` // run Command with /bin/sh -c

	// handler
	Name string `json:"name,omitempty"`
}

// Perform says how a fire reaches a worker.
type Perform struct {
	Kind string `json:"kind,omitempty"` // websocket (default), http, kafka

	// http
	URL     string   `json:"url,omitempty"`
	Method  string   `json:"method,omitempty"`
	Timeout Duration `json:"timeout,omitzero"`

	// kafka
	Brokers []string `json:"brokers,omitempty"`
	Topic   string   `json:"topic,omitempty"`
}

// Retries is a job's retry policy: up to Max further attempts, waiting
// Backoff doubled each time and capped at MaxBackoff.
type Retries struct {
	Max        int      `json:"max,omitempty"`
	Backoff    Duration `json:"backoff,omitzero"`
	MaxBackoff Duration `json:"max_backoff,omitzero"`
}

// Alert events of a job's notify webhooks.
const (
	NotifyFailure  = "failure"  // an execution failed, its retries spent
	NotifyTimeout  = "timeout"  // an execution timed out, its retries spent
	NotifyLost     = "lost"     // an execution was lost, its retries spent
	NotifyRecovery = "recovery" // the first success after one of the above
)

// NotifyEvents lists the alert events, in the order the default "on" has.
var NotifyEvents = []string{NotifyFailure, NotifyTimeout, NotifyLost, NotifyRecovery}

// Notify is one alert webhook of a job: the shard leader POSTs a
// Notification to URL when one of the events On happens.
type Notify struct {
	URL     string            `json:"url"`
	On      []string          `json:"on,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Wants reports whether the webhook subscribes to event; no events
// means all of them.
func (n *Notify) Wants(event string) bool {
	if len(n.On) == 0 {
		return true
	}
	for _, e := range n.On {
		if e == event {
			return true
		}
	}
	return false
}

// Notification is the JSON body of an alert webhook call.
type Notification struct {
	Event     string    `json:"event"`
	Job       string    `json:"job"`
	Execution Execution `json:"execution"`
	At        time.Time `json:"at"`
}

// Piece identifies one piece of a sharded or broadcast fire.
type Piece struct {
	Index     int    `json:"index"`
	Count     int    `json:"count"`
	Parameter string `json:"parameter,omitempty"`
}

// Execution is one fire of one job (one piece of it).
type Execution struct {
	ID          string     `json:"id"`
	Job         string     `json:"job"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	FiredAt     *time.Time `json:"fired_at,omitempty"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	State       string     `json:"state"`
	Reason      string     `json:"reason,omitempty"`
	Attempt     int        `json:"attempt"`
	Client      string     `json:"client,omitempty"`
	ExitCode    *int       `json:"exit_code,omitempty"`
	HTTPStatus  int        `json:"http_status,omitempty"`
	Output      string     `json:"output,omitempty"`
	Error       string     `json:"error,omitempty"`
	Piece       *Piece     `json:"piece,omitempty"`
	Manual      bool       `json:"manual,omitempty"`
}

// Terminal reports whether state is final.
func Terminal(state string) bool {
	switch state {
	case ExecSucceeded, ExecFailed, ExecTimedOut, ExecLost, ExecSkipped, ExecKilled:
		return true
	}
	return false
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("30m", "1500ms").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// IsZero reports whether the duration is zero (omitted in JSON).
func (d Duration) IsZero() bool { return d == 0 }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// JobList is the answer of GET /v1/jobs.
type JobList struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// ExecutionList is the answer of GET /v1/jobs/{group}/{name}/executions.
type ExecutionList struct {
	Executions []Execution `json:"executions"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// Client is a connected worker, as GET /v1/clients lists it.
type Client struct {
	ID          string            `json:"id"`
	Group       string            `json:"group"`
	Server      string            `json:"server"`
	Capacity    int               `json:"capacity"`
	Running     int               `json:"running"`
	Labels      map[string]string `json:"labels,omitempty"`
	Handlers    []string          `json:"handlers,omitempty"`
	ConnectedAt time.Time         `json:"connected_at"`
}

// ClientList is the answer of GET /v1/clients.
type ClientList struct {
	Clients    []Client `json:"clients"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Cluster is the answer of GET /v1/cluster.
type Cluster struct {
	MetaLeader      string          `json:"meta_leader"`
	Servers         []ClusterServer `json:"servers"`
	Shards          []ClusterShard  `json:"shards"`
	UnderReplicated int             `json:"under_replicated"`
	Epoch           uint64          `json:"epoch,omitempty"`
	Replicas        int             `json:"replicas,omitempty"`
}

// ClusterServer is one server in GET /v1/cluster.
type ClusterServer struct {
	ID    string `json:"id"`
	HTTP  string `json:"http"`
	Raft  string `json:"raft,omitempty"`
	State string `json:"state"`
	Load  Load   `json:"load"`
}

// Load is a server's latest load report.
type Load struct {
	Jobs              int64      `json:"jobs"`
	FiresPerSecond    float64    `json:"fires_per_second"`
	RequestsPerSecond float64    `json:"requests_per_second"`
	StoreBytes        int64      `json:"store_bytes"`
	Clients           int        `json:"clients"`
	ApplyLatencyMS    float64    `json:"apply_latency_ms"`
	ShardLeaders      int        `json:"shard_leaders"`
	Replicas          int        `json:"replicas"`
	ReportedAt        *time.Time `json:"reported_at,omitempty"`
}

// ClusterShard is one shard in GET /v1/cluster. Replicas are the servers
// placement wants the shard on; Voters those that vote in its Raft group
// now (a new replica votes once it caught up).
type ClusterShard struct {
	ID       int      `json:"id"`
	Slots    []string `json:"slots"` // ranges "0-2047"
	Leader   string   `json:"leader"`
	Replicas []string `json:"replicas"`
	Voters   []string `json:"voters,omitempty"`
	Jobs     int64    `json:"jobs"`
}

// PreviewRequest is the body of POST /v1/triggers:preview.
type PreviewRequest struct {
	Trigger scheduler.Spec `json:"trigger"`
	Count   int            `json:"count,omitempty"`
	From    *time.Time     `json:"from,omitempty"`
}

// PreviewResponse is the answer of POST /v1/triggers:preview.
type PreviewResponse struct {
	FireTimes  []time.Time `json:"fire_times"`
	LocalTimes []string    `json:"local_times,omitempty"`
	TimeZone   string      `json:"time_zone,omitempty"`
}

// TriggerResponse is the answer of POST /v1/jobs/{group}/{name}/trigger.
type TriggerResponse struct {
	Executions []string `json:"executions"`
}

// Version is the answer of GET /v1/version.
type Version struct {
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
}

// Token roles.
const (
	RoleAdmin    = "admin"    // everything
	RoleOperator = "operator" // jobs, executions, calendars, and reads
	RoleReader   = "reader"   // reads
	RoleClient   = "client"   // connect as a worker of its groups, nothing else
)

// Token is an API token as GET /v1/tokens lists it. Secret is set only in
// the answer of POST /v1/tokens: it is shown once and never stored.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role"`
	Groups    []string  `json:"groups,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"token,omitempty"`
}

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Name   string   `json:"name,omitempty"`
	Role   string   `json:"role"`
	Groups []string `json:"groups,omitempty"`
}

// Validate names the first invalid field.
func (r *TokenRequest) Validate() error {
	switch r.Role {
	case RoleAdmin, RoleOperator, RoleReader:
		if len(r.Groups) > 0 {
			return Invalid("groups", "only a client token is limited to groups")
		}
	case RoleClient:
		if len(r.Groups) == 0 {
			return Invalid("groups", "a client token needs at least one group")
		}
		for i, g := range r.Groups {
			if err := CheckName(fmt.Sprintf("groups[%d]", i), g); err != nil {
				return err
			}
		}
	default:
		return Invalid("role", "%q is not one of admin, operator, reader, client", r.Role)
	}
	return noControl("name", r.Name, false)
}

// TokenList is the answer of GET /v1/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}
