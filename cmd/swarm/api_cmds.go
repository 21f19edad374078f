package main

import "github.com/spf13/cobra"

// addAPICommands registers the commands that talk to the REST API (job,
// exec, trigger, calendar, cluster, version).
func addAPICommands(root *cobra.Command, g *globals) {}
