package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

func newExecCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec",
		Short: "inspect executions (the runs of jobs), read their logs, kill them",
		Example: `  swarm exec list --job billing/nightly
  swarm exec logs --follow 01J9Z3...`,
	}
	cmd.AddCommand(newExecListCmd(g), newExecGetCmd(g), newExecLogsCmd(g), newExecKillCmd(g))
	return cmd
}

func newExecListCmd(g *globals) *cobra.Command {
	var job, cursor string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "list --job GROUP/NAME",
		Short: "list the executions of a job, newest first",
		Example: `  swarm exec list --job billing/nightly
  swarm exec list billing/nightly --limit 5 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			if len(args) == 1 {
				if job != "" {
					return errors.New("give the job as an argument or with --job, not both")
				}
				job = args[0]
			}
			if job == "" {
				return errors.New("which job? pass --job GROUP/NAME")
			}
			group, name, err := parseJobKey(job)
			if err != nil {
				return fmt.Errorf("--job: %w", err)
			}
			if err := checkLimit(limit); err != nil {
				return err
			}
			execs, next, err := listExecutions(cmd.Context(), s.api, group, name, api.ListOptions{Limit: limit, Cursor: cursor}, all)
			if err != nil {
				return about(err, "job "+job)
			}
			if err := s.out.print(execs, func(w io.Writer) error { return execTable(w, execs) }); err != nil {
				return err
			}
			moreHint(cmd, "executions", next)
			return nil
		}),
	}
	cmd.Flags().StringVar(&job, "job", "", "the job, as GROUP/NAME")
	addPagingFlags(cmd, &limit, &cursor, &all)
	return cmd
}

func listExecutions(ctx context.Context, c *api.RESTClient, group, name string, opts api.ListOptions, all bool) ([]api.Execution, string, error) {
	if all {
		execs, err := c.ListAllExecutions(ctx, group, name, opts)
		return execs, "", err
	}
	page, err := c.ListExecutions(ctx, group, name, opts)
	if err != nil {
		return nil, "", err
	}
	return nonNil(page.Executions), page.NextCursor, nil
}

func execTable(w io.Writer, execs []api.Execution) error {
	t := newTable(w, "ID", "STATE", "SCHEDULED", "FIRED", "DURATION", "CLIENT", "EXIT")
	for _, e := range execs {
		t.row(e.ID, execState(e), fmtTime(&e.ScheduledAt), fmtTime(e.FiredAt), execDuration(e), e.Client, execExit(e))
	}
	return t.flush()
}

func execState(e api.Execution) string {
	if e.Reason != "" {
		return e.State + " (" + e.Reason + ")"
	}
	return e.State
}

// execDuration is how long a finished run took.
func execDuration(e api.Execution) string {
	if e.StartedAt == nil || e.FinishedAt == nil {
		return "-"
	}
	return fmtDuration(e.FinishedAt.Sub(*e.StartedAt))
}

func execExit(e api.Execution) string {
	switch {
	case e.ExitCode != nil:
		return strconv.Itoa(*e.ExitCode)
	case e.HTTPStatus != 0:
		return "http " + strconv.Itoa(e.HTTPStatus)
	}
	return "-"
}

func newExecGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "show an execution, with the tail of its output",
		Example: `  swarm exec get 01J9Z3...`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			e, err := s.api.GetExecution(cmd.Context(), args[0])
			if err != nil {
				return about(err, "execution "+args[0])
			}
			return s.out.print(e, func(w io.Writer) error { return execDetail(w, e) })
		}),
	}
}

func execDetail(w io.Writer, e *api.Execution) error {
	piece := ""
	if e.Piece != nil {
		piece = fmt.Sprintf("%d of %d %s", e.Piece.Index+1, e.Piece.Count, e.Piece.Parameter)
	}
	err := fields(w,
		"ID", e.ID,
		"JOB", e.Job,
		"STATE", execState(*e),
		"ATTEMPT", strconv.Itoa(e.Attempt),
		"PIECE", strings.TrimSpace(piece),
		"CLIENT", e.Client,
		"SCHEDULED", fmtTime(&e.ScheduledAt),
		"FIRED", fmtTime(e.FiredAt),
		"STARTED", fmtTime(e.StartedAt),
		"FINISHED", fmtTime(e.FinishedAt),
		"DURATION", execDuration(*e),
		"EXIT", execExit(*e),
		"ERROR", e.Error,
	)
	if err != nil || e.Output == "" {
		return err
	}
	_, err = fmt.Fprintf(w, "OUTPUT\n%s\n", strings.TrimRight(e.Output, "\n"))
	return err
}

func newExecLogsCmd(g *globals) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "print the log of an execution",
		Example: `  swarm exec logs 01J9Z3...
  swarm exec logs --follow 01J9Z3...`,
		Args: cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			rc, err := s.api.ExecutionLogs(cmd.Context(), args[0], follow)
			if err != nil {
				return about(err, "execution "+args[0])
			}
			defer rc.Close()
			if _, err := io.Copy(cmd.OutOrStdout(), rc); err != nil && cmd.Context().Err() == nil {
				return fmt.Errorf("read log: %w", err)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing while the run lives")
	return cmd
}

func newExecKillCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "kill ID",
		Short:   "kill a running execution",
		Example: `  swarm exec kill 01J9Z3...`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			if err := s.api.KillExecution(cmd.Context(), args[0]); err != nil {
				return about(err, "execution "+args[0])
			}
			done := struct {
				Execution string `json:"execution"`
				Kill      string `json:"kill"`
			}{args[0], "requested"}
			return s.out.print(done, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "kill requested for execution %s\n", args[0])
				return err
			})
		}),
	}
}
