package main

import (
	"os"

	"github.com/spf13/cobra"
)

// Default addresses: loopback, so a first start exposes nothing.
const (
	defaultHTTPAddr   = "127.0.0.1:7700"
	defaultRaftAddr   = "127.0.0.1:7701"
	defaultGossipAddr = "127.0.0.1:7702"
)

// globals are the flags every command shares.
type globals struct {
	// Server is the API address of any server: host:port or a URL, or a
	// comma-separated list tried in order. Defaults to $SWARM_SERVER, then
	// defaultHTTPAddr.
	Server string

	// Output is table, json or yaml.
	Output string

	// Token is the API token sent as a bearer token ($SWARM_TOKEN).
	Token string

	// TLSCA is a PEM CA bundle that verifies https servers ($SWARM_TLS_CA).
	TLSCA string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "swarm",
		Short:         "swarm: a distributed scheduler for timed jobs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}

	server := os.Getenv("SWARM_SERVER")
	if server == "" {
		server = defaultHTTPAddr
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.Server, "server", server, "API address of any swarm server (host:port or URL; comma-separated list)")
	pf.StringVarP(&g.Output, "output", "o", "table", "output format: table, json or yaml")
	pf.StringVar(&g.Token, "token", os.Getenv("SWARM_TOKEN"), "API token ($SWARM_TOKEN)")
	pf.StringVar(&g.TLSCA, "tls-ca", os.Getenv("SWARM_TLS_CA"), "PEM CA bundle that verifies https servers ($SWARM_TLS_CA)")

	root.AddCommand(
		newServerCmd(g),
		newClientCmd(g),
		newBenchCmd(g),
	)
	addAPICommands(root, g)
	return root
}
