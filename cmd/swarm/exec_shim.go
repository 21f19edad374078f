package main

import (
	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/client"
)

// newExecShimCmd is the hidden "swarm client exec-shim": a worker with a
// data dir starts each job process under it, so that the process outlives
// a worker restart and its exit status is still known (see package client).
func newExecShimCmd() *cobra.Command {
	return &cobra.Command{
		Use:   client.ShimArg + " RUN_DIR -- COMMAND [ARG...]",
		Short: "run one job process for a worker and record how it ends (internal)",
		Long: `Run COMMAND with its output recorded in RUN_DIR/output and its exit status
written to RUN_DIR/exit.json. A worker started with --data-dir runs every
job process this way; people do not call it.`,
		Example:            `  swarm client exec-shim /var/lib/swarm-worker/runs/e-42-1-0badf00d -- /bin/sh -c 'echo hi'`,
		Hidden:             true,
		DisableFlagParsing: true, // everything after RUN_DIR belongs to COMMAND
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
				return cmd.Help()
			}
			if code := client.RunShim(args); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}
