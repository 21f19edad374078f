package client_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/client"
	"github.com/swarmsched/swarm/client/clienttest"
	"github.com/swarmsched/swarm/protocol"
)

// A worker that runs jobs in its own process: register a handler by name,
// start the client, and the server sends fires of jobs whose executor is
// {"kind": "handler", "name": "report.daily"}.
func Example() {
	srv := clienttest.NewServer(clienttest.Config{}) // stands in for a swarm server
	defer srv.Close()

	c, err := client.New(client.Config{
		Servers: []string{srv.Addr()},
		ID:      "worker-1",
		Group:   "reports",
	})
	if err != nil {
		panic(err)
	}
	c.Handle("report.daily", func(ctx context.Context, f *client.Fire) error {
		f.Logf("report for %s, piece %d of %d", f.Data["tenant"], f.Piece.Index, f.Piece.Count)
		return nil
	})
	if err := c.Start(context.Background()); err != nil {
		panic(err)
	}
	defer c.Stop()

	hello, _ := srv.WaitHello()
	fmt.Println("registered:", hello.ID, hello.Group, hello.Handlers)

	_ = srv.Fire(protocol.Fire{
		ExecID:      "e-1",
		Attempt:     1,
		Job:         "billing/daily-report",
		ScheduledAt: time.Date(2026, 1, 2, 2, 0, 0, 0, time.UTC),
		Executor:    api.Executor{Kind: api.ExecutorHandler, Name: "report.daily"},
		Data:        map[string]string{"tenant": "acme"},
	})
	res, _ := srv.WaitResult("e-1", 1)
	fmt.Println("result:", res.State, strings.TrimSpace(res.Output))

	// Output:
	// registered: worker-1 reports [report.daily]
	// result: succeeded report for acme, piece 0 of 1
}

// Process jobs run a command with the SWARM_* environment; the result
// carries the exit code and the tail of the output.
func Example_process() {
	srv := clienttest.NewServer(clienttest.Config{})
	defer srv.Close()

	c, err := client.New(client.Config{Servers: []string{srv.Addr()}, ID: "worker-2"})
	if err != nil {
		panic(err)
	}
	if err := c.Start(context.Background()); err != nil {
		panic(err)
	}
	defer c.Stop()
	_, _ = srv.WaitHello()

	_ = srv.Fire(protocol.Fire{
		ExecID:  "e-2",
		Attempt: 1,
		Job:     "ops/cleanup",
		Executor: api.Executor{
			Kind:    api.ExecutorProcess,
			Command: `echo "cleaning for $SWARM_JOB_NAME"; exit 3`,
			Shell:   true,
		},
	})
	res, _ := srv.WaitResult("e-2", 1)
	fmt.Println(res.State, *res.ExitCode, res.Error)
	fmt.Print(res.Output)

	// Output:
	// failed 3 exit status 3
	// cleaning for cleanup
}

// A handler's context ends when the fire's timeout passes or the server
// kills the run; context.Cause says which.
func ExampleHandler() {
	var h client.Handler = func(ctx context.Context, f *client.Fire) error {
		select {
		case <-time.After(time.Hour): // the real work
			return nil
		case <-ctx.Done():
			return context.Cause(ctx) // client.ErrTimedOut, client.ErrKilled or client.ErrDrained
		}
	}
	_ = h
}

// Programs that give the client a DataDir call RunShimIfRequested first:
// the client re-executes the program as the exec shim that lets processes
// outlive a client restart.
func ExampleRunShimIfRequested() {
	client.RunShimIfRequested() // returns at once unless started as the shim

	c, err := client.New(client.Config{
		Servers: []string{"swarm-1:7700", "swarm-2:7700"},
		DataDir: "/var/lib/swarm-worker",
	})
	fmt.Println(c != nil, err)

	// Output:
	// true <nil>
}
