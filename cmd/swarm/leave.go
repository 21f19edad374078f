package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/swarmsched/swarm/api"
)

// newAPIClient makes a REST client from the global flags.
func newAPIClient(g *globals) (*api.RESTClient, error) {
	c, err := api.NewClient(splitServers(g.Server), api.WithToken(g.Token), api.WithUserAgent("swarm-cli/"+version))
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return c, nil
}

// leaveServer asks the server to leave and waits until it has: it holds no
// replica and stops answering, or reports state "left".
func leaveServer(ctx context.Context, c *api.RESTClient, out io.Writer) error {
	res, err := c.LeaveServer(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "server %s is leaving: moving its replicas away\n", res.Server)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		st, err := c.Cluster(ctx)
		if err != nil {
			fmt.Fprintf(out, "server %s has left\n", res.Server)
			return nil // it stopped serving
		}
		held := 0
		for _, sh := range st.Shards {
			for _, r := range sh.Replicas {
				if r == res.Server {
					held++
				}
			}
		}
		for _, srv := range st.Servers {
			if srv.ID == res.Server && srv.State == "left" {
				fmt.Fprintf(out, "server %s has left\n", res.Server)
				return nil
			}
		}
		fmt.Fprintf(out, "  %d replicas still on %s\n", held, res.Server)
	}
}
