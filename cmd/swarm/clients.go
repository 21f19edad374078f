package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

func newClientsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "clients",
		Short:   "inspect the connected workers",
		Example: `  swarm clients list --group batch`,
	}
	cmd.AddCommand(newClientsListCmd(g))
	return cmd
}

func newClientsListCmd(g *globals) *cobra.Command {
	var group, cursor string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the connected workers and what they run",
		Example: `  swarm clients list
  swarm clients list --group batch -o json`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			opts := api.ListClientsOptions{Group: group, Limit: limit, Cursor: cursor}
			clients, next, err := listClients(cmd.Context(), s.api, opts, all)
			if err != nil {
				return err
			}
			if err := s.out.print(clients, func(w io.Writer) error { return clientTable(w, clients) }); err != nil {
				return err
			}
			moreHint(cmd, "clients", next)
			return nil
		}),
	}
	cmd.Flags().StringVar(&group, "group", "", "only workers of this client group")
	addPagingFlags(cmd, &limit, &cursor, &all)
	return cmd
}

func listClients(ctx context.Context, c *api.RESTClient, opts api.ListClientsOptions, all bool) ([]api.Client, string, error) {
	if all {
		clients, err := c.ListAllClients(ctx, opts)
		return clients, "", err
	}
	page, err := c.ListClients(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return nonNil(page.Clients), page.NextCursor, nil
}

func clientTable(w io.Writer, clients []api.Client) error {
	t := newTable(w, "CLIENT", "GROUP", "SERVER", "RUNNING", "LABELS", "HANDLERS", "CONNECTED")
	for _, c := range clients {
		t.row(c.ID, c.Group, c.Server, fmt.Sprintf("%d/%d", c.Running, c.Capacity), fmtMap(c.Labels),
			strings.Join(c.Handlers, ","), fmtTime(&c.ConnectedAt))
	}
	return t.flush()
}
