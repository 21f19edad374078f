package protocol

import (
	"time"

	"github.com/swarmsched/swarm/api"
)

// Version is the protocol version this build speaks. A client states the
// version it speaks in Hello; the server answers with an Error message and
// closes the connection if it does not support it.
const Version = 1

// MinVersion is the oldest protocol version this build accepts.
const MinVersion = 1

// MaxMessageBytes bounds one WebSocket message in either direction.
const MaxMessageBytes = 1 << 20

// Message types.
const (
	TypeHello     = "hello"     // client -> server, first message
	TypeWelcome   = "welcome"   // server -> client, answer to hello
	TypeHeartbeat = "heartbeat" // both ways
	TypeFire      = "fire"      // server -> client: run this
	TypeAck       = "ack"       // client -> server: accepted (running) or refused
	TypeLog       = "log"       // client -> server: output lines of a run
	TypeResult    = "result"    // client -> server: a run ended
	TypeResultOK  = "result_ok" // server -> client: the result is committed
	TypeKill      = "kill"      // server -> client: stop a run
	TypeDrain     = "drain"     // client -> server: send no new fires
	TypeError     = "error"     // server -> client: fatal, the server closes
)

// Message is the envelope of every message: Type names the one payload
// field that is set.
//
//	{"type":"fire","fire":{"exec_id":"...","attempt":1,...}}
type Message struct {
	Type string `json:"type"`

	Hello     *Hello     `json:"hello,omitempty"`
	Welcome   *Welcome   `json:"welcome,omitempty"`
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	Fire      *Fire      `json:"fire,omitempty"`
	Ack       *Ack       `json:"ack,omitempty"`
	Log       *Log       `json:"log,omitempty"`
	Result    *Result    `json:"result,omitempty"`
	ResultOK  *ResultOK  `json:"result_ok,omitempty"`
	Kill      *Kill      `json:"kill,omitempty"`
	Drain     *Drain     `json:"drain,omitempty"`
	Error     *Error     `json:"error,omitempty"`
}

// Hello registers a client. ID must be unique in the cluster; a second
// connection with the same ID replaces the first.
type Hello struct {
	Protocol int               `json:"protocol"`
	ID       string            `json:"id"`
	Group    string            `json:"group"`
	Capacity int               `json:"capacity"`
	Labels   map[string]string `json:"labels,omitempty"`
	Handlers []string          `json:"handlers,omitempty"`
	Software string            `json:"software,omitempty"`

	// Running lists the runs the client still has, so that a server that
	// restarted or a new shard leader learns the true state.
	Running []Running `json:"running,omitempty"`
}

// Running is a run a client holds.
type Running struct {
	ExecID    string    `json:"exec_id"`
	Attempt   int       `json:"attempt"`
	PID       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// Welcome accepts a Hello.
type Welcome struct {
	Protocol int    `json:"protocol"`
	ServerID string `json:"server_id"`

	// HeartbeatMS is how often the client must send a Heartbeat.
	HeartbeatMS int64 `json:"heartbeat_ms"`
}

// Heartbeat keeps a connection alive and reports free capacity.
type Heartbeat struct {
	Running int `json:"running"`
}

// Fire asks a client to run one piece of one fire. The pair (ExecID,
// Attempt) is unique; a client that receives the same pair twice runs it
// once and acknowledges again. Shard and Term fence stale leaders.
type Fire struct {
	ExecID      string            `json:"exec_id"`
	Attempt     int               `json:"attempt"`
	Shard       int               `json:"shard"`
	Term        uint64            `json:"term"`
	Job         string            `json:"job"` // group/name
	JobID       string            `json:"job_id"`
	ScheduledAt time.Time         `json:"scheduled_at"`
	FiredAt     time.Time         `json:"fired_at"`
	Executor    api.Executor      `json:"executor"`
	Data        map[string]string `json:"data,omitempty"`
	Piece       *api.Piece        `json:"piece,omitempty"`

	// TimeoutMS bounds the run; zero means no timeout.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`

	// Leader is the server that led the shard in Term and sent the fire
	// (for audit: a fire is only ever sent by its shard's leader).
	Leader string `json:"leader,omitempty"`

	// Perform is the job's perform setting when it is not the default
	// websocket (an http or kafka fire carries where it goes).
	Perform *api.Perform `json:"perform,omitempty"`
}

// Ack answers a Fire: Accepted true means the run started; false means the
// client refused it (Reason says why) and the server may send it elsewhere.
type Ack struct {
	ExecID    string    `json:"exec_id"`
	Attempt   int       `json:"attempt"`
	Accepted  bool      `json:"accepted"`
	Reason    string    `json:"reason,omitempty"` // capacity, not_allowed, unknown_handler, draining
	StartedAt time.Time `json:"started_at,omitzero"`
	PID       int       `json:"pid,omitempty"`
}

// Log carries output lines of a live run.
type Log struct {
	ExecID  string    `json:"exec_id"`
	Attempt int       `json:"attempt"`
	Lines   []LogLine `json:"lines"`
}

// LogLine is one line of output.
type LogLine struct {
	Time   time.Time `json:"t"`
	Stream string    `json:"stream"` // stdout or stderr
	Text   string    `json:"text"`
}

// Result reports the end of a run. The client resends it (after a
// reconnect too) until a ResultOK for the same (ExecID, Attempt) arrives.
type Result struct {
	ExecID     string    `json:"exec_id"`
	Attempt    int       `json:"attempt"`
	State      string    `json:"state"` // succeeded, failed, timed_out, killed, lost
	ExitCode   *int      `json:"exit_code,omitempty"`
	HTTPStatus int       `json:"http_status,omitempty"` // the response status of an http perform
	Output     string    `json:"output,omitempty"`      // bounded tail
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at"`
}

// ResultOK says a Result is durably recorded.
type ResultOK struct {
	ExecID  string `json:"exec_id"`
	Attempt int    `json:"attempt"`
}

// KillReplaced is the Kill reason when the job's concurrency policy
// replace started a newer run.
const KillReplaced = "replaced"

// Kill asks a client to stop a run (and its process tree).
type Kill struct {
	ExecID string `json:"exec_id"`
	Reason string `json:"reason,omitempty"` // killed, replaced, timed_out
}

// Drain tells the server the client takes no new fires.
type Drain struct{}

// Error is fatal: the server closes the connection after sending it.
type Error struct {
	Code    string `json:"code"` // unsupported_protocol, invalid_hello, unauthenticated, forbidden
	Message string `json:"message"`
}
