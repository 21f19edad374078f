package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newSnapshotCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "back up and restore a whole cluster",
		Long: `A snapshot holds every shard (a consistent copy taken on each shard's
leader), the slot map it was taken with, and the calendars. Restoring
replaces every shard's state through its Raft group; the cluster must have
the same number of shards. Needs an admin token when auth is on.`,
		Example: `  swarm snapshot save backup.tar
  swarm snapshot restore backup.tar`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "save FILE",
		Short:   "write a snapshot of the cluster to FILE",
		Example: `  swarm snapshot save /backups/swarm-$(date +%F).tar`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			tmp := args[0] + ".partial"
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			n, err := s.api.SaveSnapshot(cmd.Context(), f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "snapshot written to %s (%d bytes)\n", args[0], n)
			return nil
		}),
	}, &cobra.Command{
		Use:     "restore FILE",
		Short:   "replace the cluster's jobs and executions with a snapshot's",
		Example: `  swarm snapshot restore /backups/swarm-2026-12-01.tar`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if err := s.api.RestoreSnapshot(cmd.Context(), data); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "snapshot %s restored\n", args[0])
			return nil
		}),
	})
	return cmd
}
