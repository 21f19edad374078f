package transport

import (
	"context"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/scheduler"
)

// Backend does what the HTTP API asks. The server implements it: locally
// where this server leads the job's shard, by forwarding otherwise. The
// HTTP layer only decodes, validates the envelope and encodes.
type Backend interface {
	CreateJob(ctx context.Context, j api.Job) (api.Job, error)
	// PutJob replaces a job; with create it creates a missing one and
	// reports created.
	PutJob(ctx context.Context, j api.Job, create bool) (job api.Job, created bool, err error)
	GetJob(ctx context.Context, key string) (api.Job, error)
	ListJobs(ctx context.Context, group, cursor string, limit int) (api.JobList, error)
	DeleteJob(ctx context.Context, key string) error
	PauseJob(ctx context.Context, key string) (api.Job, error)
	ResumeJob(ctx context.Context, key string) (api.Job, error)
	TriggerJob(ctx context.Context, key string) ([]string, error)
	BatchJobs(ctx context.Context, req api.BatchRequest) (api.BatchResponse, error)
	PauseGroup(ctx context.Context, group string, pause bool) (int, error)

	ListExecutions(ctx context.Context, key, cursor string, limit int) (api.ExecutionList, error)
	GetExecution(ctx context.Context, id string) (api.Execution, error)
	KillExecution(ctx context.Context, id string) error
	// ExecutionLogs writes the execution's log lines to w; with follow it
	// keeps writing until the run ends or ctx is done.
	ExecutionLogs(ctx context.Context, id string, follow bool, w LogWriter) error

	Preview(ctx context.Context, req api.PreviewRequest) (api.PreviewResponse, error)

	PutCalendar(ctx context.Context, c scheduler.CalendarSpec, create bool) (scheduler.CalendarSpec, error)
	GetCalendar(ctx context.Context, name string) (scheduler.CalendarSpec, error)
	ListCalendars(ctx context.Context) ([]scheduler.CalendarSpec, error)
	DeleteCalendar(ctx context.Context, name string) error

	Cluster(ctx context.Context) (api.Cluster, error)
	Clients(ctx context.Context, group, cursor string, limit int) (api.ClientList, error)
}

// LogWriter receives log lines; Flush pushes them to the caller.
type LogWriter interface {
	WriteLine(line string) error
	Flush()
}
