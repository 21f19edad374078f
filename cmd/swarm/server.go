package main

import "github.com/spf13/cobra"

func newServerCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "server", Short: "run a server"}
}
