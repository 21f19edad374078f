package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "manage API tokens (servers started with --auth)",
		Long: `API tokens carry a role: admin (everything), operator (jobs, executions,
calendars, reads), reader (reads), client (connect workers of the groups it
names, nothing else). The cluster keeps only a hash of each token; a new
token is shown once.`,
		Example: `  swarm token create --role operator --name ci
  swarm token create --role client --group batch --group reports
  swarm token list
  swarm token revoke 3f2a9c0d1e4b5a67`,
	}
	cmd.AddCommand(newTokenCreateCmd(g), newTokenListCmd(g), newTokenRevokeCmd(g))
	return cmd
}

func newTokenCreateCmd(g *globals) *cobra.Command {
	var req api.TokenRequest
	cmd := &cobra.Command{
		Use:   "create --role ROLE [--group G]... [--name NAME]",
		Short: "create an API token; it is printed once",
		Example: `  swarm token create --role reader --name grafana
  swarm token create --role client --group batch`,
		Args: cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			if err := req.Validate(); err != nil {
				return err
			}
			t, err := s.api.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			return s.out.print(t, func(w io.Writer) error {
				fmt.Fprintf(w, "token %s (%s) created; keep it now, it is not shown again:\n%s\n", t.ID, t.Role, t.Secret)
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&req.Role, "role", "", "admin, operator, reader or client")
	cmd.Flags().StringSliceVar(&req.Groups, "group", nil, "client role: a group the token may serve (repeat)")
	cmd.Flags().StringVar(&req.Name, "name", "", "what the token is for")
	return cmd
}

func newTokenListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "list the API tokens (never their secrets)",
		Example: `  swarm token list -o json`,
		Args:    cobra.NoArgs,
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, _ []string) error {
			list, err := s.api.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return s.out.print(list.Tokens, func(w io.Writer) error {
				t := newTable(w, "ID", "ROLE", "GROUPS", "NAME", "CREATED")
				for _, tok := range list.Tokens {
					t.row(tok.ID, tok.Role, strings.Join(tok.Groups, ","), tok.Name, tok.CreatedAt.Local().Format("2006-01-02 15:04:05"))
				}
				return t.flush()
			})
		}),
	}
}

func newTokenRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke ID",
		Short:   "revoke an API token",
		Example: `  swarm token revoke 3f2a9c0d1e4b5a67`,
		Args:    cobra.ExactArgs(1),
		RunE: apiRun(g, func(cmd *cobra.Command, s *session, args []string) error {
			if err := s.api.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s revoked\n", args[0])
			return nil
		}),
	}
}
