package chaos

import (
	"time"
)

// OpKind names a job CRUD operation of the workload.
type OpKind string

// Operation kinds.
const (
	OpCreate OpKind = "create" // POST /v1/jobs: fails if the key exists
	OpUpdate OpKind = "update" // PUT /v1/jobs/{g}/{n}: fails if it does not
	OpDelete OpKind = "delete" // DELETE /v1/jobs/{g}/{n}
	OpGet    OpKind = "get"    // GET /v1/jobs/{g}/{n}
)

// Outcome is what the caller of an operation learned.
type Outcome string

// Outcomes.
const (
	OutOK       Outcome = "ok"        // 2xx; a get carries the value read
	OutExists   Outcome = "exists"    // 409 already_exists on create
	OutNotFound Outcome = "not_found" // 404
	OutUnknown  Outcome = "unknown"   // 5xx, timeout, connection lost: may or may not have applied
	OutRejected Outcome = "rejected"  // another 4xx: refused, applied nothing
)

// Op is one recorded job CRUD operation. Times are nanoseconds since the
// run began, on the harness's monotonic clock.
type Op struct {
	Worker  int     `json:"worker"`
	Key     string  `json:"key"`
	Kind    OpKind  `json:"kind"`
	Value   string  `json:"value,omitempty"` // written, or read by an ok get
	Outcome Outcome `json:"outcome"`
	Call    int64   `json:"call_ns"`
	Return  int64   `json:"return_ns"` // meaningless when Outcome is unknown
	Server  string  `json:"server,omitempty"`
	Detail  string  `json:"detail,omitempty"`
}

// Fault is one injected fault.
type Fault struct {
	Kind   string    `json:"kind"`
	Target string    `json:"target"`         // server or client id
	Peer   string    `json:"peer,omitempty"` // the other side of a partition
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Note   string    `json:"note,omitempty"`
}

// Fault kinds.
const (
	FaultServerKill     = "server-kill"
	FaultServerPause    = "server-pause"
	FaultPartitionOne   = "partition-oneway"
	FaultPartitionTwo   = "partition-twoway"
	FaultPartitionAlone = "partition-isolate"
	FaultDiskFull       = "disk-full"
	FaultClientKill     = "client-kill"
	FaultClientPause    = "client-pause"
)

// AllFaultKinds lists every fault kind, servers first.
var AllFaultKinds = []string{
	FaultServerKill, FaultServerPause, FaultPartitionOne, FaultPartitionTwo,
	FaultPartitionAlone, FaultDiskFull, FaultClientKill, FaultClientPause,
}

func isClientFault(kind string) bool { return kind == FaultClientKill || kind == FaultClientPause }

// Fire is one line of the sink: one run of a firing job's command.
type Fire struct {
	Job         string    `json:"job"`
	ScheduledAt time.Time `json:"scheduled_at"`
	ExecID      string    `json:"exec_id"`
	Attempt     int       `json:"attempt"`
	Shard       int       `json:"shard"`
	Term        uint64    `json:"term"`
	Leader      string    `json:"leader"`
	Client      string    `json:"client"`
	RanAt       time.Time `json:"ran_at"`
}

// Leadership is one "shard leadership gained" line of a server's log.
type Leadership struct {
	Shard  int       `json:"shard"`
	Term   uint64    `json:"term"`
	Server string    `json:"server"`
	At     time.Time `json:"at"`
}

// FiringJob is a job of the firing workload.
type FiringJob struct {
	Key     string        `json:"key"`
	Created time.Time     `json:"created"` // when its create was acknowledged
	Period  time.Duration `json:"period"`  // slots are the multiples of Period
	Retries int           `json:"retries"`
}

// Violation is one broken promise found by a checker.
type Violation struct {
	Check   string `json:"check"`
	Subject string `json:"subject"`
	Message string `json:"message"`
}
