package main

import "github.com/spf13/cobra"

func newClientCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "client", Short: "run a worker"}
}
