package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cluster",
		Short:   "inspect the cluster of servers",
		Example: `  swarm cluster status`,
	}
	cmd.AddCommand(newClusterStatusCmd(g))
	return cmd
}

func newClusterStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "show the servers with their load, and the shards with their slots, leader and replicas",
		Example: `  swarm cluster status
  swarm cluster status -o json --server 10.0.0.5:7700`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			cl, err := s.api.Cluster(cmd.Context())
			if err != nil {
				return err
			}
			return s.out.print(cl, func(w io.Writer) error { return clusterTables(w, cl) })
		}),
	}
}

func clusterTables(w io.Writer, cl *api.Cluster) error {
	_, err := fmt.Fprintf(w, "meta leader: %s    under-replicated shards: %d\n\n", orDefault(cl.MetaLeader, "none"), cl.UnderReplicated)
	if err != nil {
		return err
	}

	servers := newTable(w, "SERVER", "HTTP", "STATE", "JOBS", "FIRES/S", "REQ/S", "STORE", "CLIENTS", "LEADS", "REPLICAS", "REPORTED")
	for _, sv := range cl.Servers {
		l := sv.Load
		servers.row(sv.ID, sv.HTTP, sv.State, strconv.FormatInt(l.Jobs, 10), fmtRate(l.FiresPerSecond), fmtRate(l.RequestsPerSecond),
			fmtBytes(l.StoreBytes), strconv.Itoa(l.Clients), strconv.Itoa(l.ShardLeaders), strconv.Itoa(l.Replicas), fmtTime(l.ReportedAt))
	}
	if err := servers.flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}

	shards := newTable(w, "SHARD", "SLOTS", "LEADER", "REPLICAS", "JOBS")
	for _, sh := range cl.Shards {
		shards.row(strconv.Itoa(sh.ID), strings.Join(sh.Slots, ","), orDefault(sh.Leader, "none"),
			strings.Join(sh.Replicas, ","), strconv.FormatInt(sh.Jobs, 10))
	}
	return shards.flush()
}

func fmtRate(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

// fmtBytes shows a size in binary units: 512B, 1.5KiB, 2.0GiB.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
