package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

// version is the client's version, set at build time with
// -ldflags "-X main.version=...".
var version = "dev"

// versionProbeTimeout bounds the question to the server: version answers
// quickly with or without one.
const versionProbeTimeout = 3 * time.Second

// versionInfo is the answer of swarm version.
type versionInfo struct {
	Client      string       `json:"client"`
	Server      *api.Version `json:"server,omitempty"`
	ServerError string       `json:"server_error,omitempty"`
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version of this program and of the server, when reachable",
		Example: `  swarm version
  swarm version -o json --server 10.0.0.5:7700`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newSession(cmd, g, api.WithTimeout(versionProbeTimeout))
			if err != nil {
				return err
			}
			defer s.close()

			info := versionInfo{Client: version}
			if info.Server, err = s.api.Version(cmd.Context()); err != nil {
				info.ServerError = s.explain(err).Error()
			}
			return s.out.print(info, func(w io.Writer) error { return versionTable(w, info) })
		},
	}
}

func versionTable(w io.Writer, info versionInfo) error {
	server := info.ServerError
	if info.Server != nil {
		server = fmt.Sprintf("%s (protocol %d)", info.Server.Version, info.Server.Protocol)
	}
	return fields(w, "client", info.Client, "server", server)
}
