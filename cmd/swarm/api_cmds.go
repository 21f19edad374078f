package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmsched/swarm/api"
)

// addAPICommands registers the commands that talk to the REST API (job,
// exec, trigger, calendar, cluster, clients, version) and cobra's shell
// completion command.
func addAPICommands(root *cobra.Command, g *globals) {
	root.AddCommand(
		newJobCmd(g),
		newExecCmd(g),
		newTriggerCmd(g),
		newCalendarCmd(g),
		newClusterCmd(g),
		newClientsCmd(g),
		newVersionCmd(g),
		newTokenCmd(g),
		newSnapshotCmd(g),
	)
	addCompletionCmd(root)
}

// addCompletionCmd adds cobra's completion command now rather than at
// Execute, so that it can be given examples like every other command.
func addCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  swarm completion bash > /etc/bash_completion.d/swarm\n  swarm completion zsh > \"${fpath[1]}/_swarm\""
		for _, shell := range c.Commands() {
			shell.Example = fmt.Sprintf("  source <(swarm completion %s)", shell.Name())
		}
	}
}

// session is what a command that talks to the API holds while it runs.
type session struct {
	api    *api.RESTClient
	out    *printer
	server string // --server as given, for messages
}

func newSession(cmd *cobra.Command, g *globals, opts ...api.ClientOption) (*session, error) {
	out, err := newPrinter(cmd.OutOrStdout(), g.Output)
	if err != nil {
		return nil, err
	}
	opts = append([]api.ClientOption{api.WithToken(g.Token), api.WithUserAgent("swarm-cli/" + version)}, opts...)
	if g.TLSCA != "" {
		tc, err := tlsConfig(g.TLSCA)
		if err != nil {
			return nil, err
		}
		opts = append(opts, api.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}))
	}
	c, err := api.NewClient(splitServers(g.Server), opts...)
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return &session{api: c, out: out, server: g.Server}, nil
}

func (s *session) close() { s.api.CloseIdleConnections() }

// apiRun adapts fn into a cobra RunE that holds a session for its run and
// turns API errors into messages that say what to do.
func apiRun(g *globals, fn func(cmd *cobra.Command, s *session, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := newSession(cmd, g)
		if err != nil {
			return err
		}
		defer s.close()
		return s.explain(fn(cmd, s, args))
	}
}

func splitServers(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// userError is an error whose message is meant for the person at the
// terminal; it still unwraps to the error it explains.
type userError struct {
	msg string
	err error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }

// about names what a 404 was about ("job billing/nightly").
func about(err error, subject string) error {
	if api.HasCode(err, api.CodeNotFound) {
		return &userError{msg: subject + " not found", err: err}
	}
	return err
}

// explain turns an API or connection error into a message that says what
// went wrong and what to do.
func (s *session) explain(err error) error {
	var done *userError
	if err == nil || errors.As(err, &done) {
		return err
	}
	var unreachable *api.UnreachableError
	if errors.As(err, &unreachable) {
		cause := unreachable.Err
		var ue *url.Error
		if errors.As(cause, &ue) {
			cause = ue.Err // the URL is in the message already
		}
		return &userError{err: err, msg: fmt.Sprintf(
			"cannot reach swarm server at %s: is it running? start one with `swarm server` or pass --server (%v)",
			s.server, cause)}
	}
	if errors.Is(err, context.Canceled) {
		return &userError{msg: "interrupted", err: err}
	}
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		return err
	}
	return &userError{msg: explainAPIError(apiErr), err: err}
}

func explainAPIError(e *api.Error) string {
	switch e.Status {
	case http.StatusBadRequest:
		if e.Field != "" {
			return fmt.Sprintf("invalid %s: %s", e.Field, e.Message)
		}
		return "invalid request: " + e.Message
	case http.StatusUnauthorized:
		return "unauthenticated: " + e.Message + " (pass --token or set $SWARM_TOKEN)"
	case http.StatusForbidden:
		return "forbidden: " + e.Message
	case http.StatusNotFound:
		return "not found: " + e.Message
	case http.StatusConflict:
		return e.Message
	case http.StatusRequestEntityTooLarge:
		return "too large: " + e.Message
	case http.StatusServiceUnavailable:
		return "server unavailable: " + e.Message + " (try again shortly)"
	case 0:
		// Refused before sending: a bad argument named by field.
		return e.Error()
	}
	return fmt.Sprintf("server error (%d): %s", e.Status, e.Message)
}

// jobKey is the GROUP/NAME argument, or --group and --name.
type jobKey struct {
	group, name string
}

func (k *jobKey) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.group, "group", "", "job group (instead of GROUP/NAME)")
	cmd.Flags().StringVar(&k.name, "name", "", "job name (instead of GROUP/NAME)")
}

// resolve returns the key from args or the flags.
func (k *jobKey) resolve(args []string) (group, name string, err error) {
	if len(args) > 1 {
		return "", "", errors.New("want one GROUP/NAME argument")
	}
	if len(args) == 1 {
		if k.group != "" || k.name != "" {
			return "", "", errors.New("give the job as GROUP/NAME or with --group and --name, not both")
		}
		return parseJobKey(args[0])
	}
	if k.group == "" || k.name == "" {
		return "", "", errors.New("which job? give GROUP/NAME (for example billing/nightly-invoices) or --group and --name")
	}
	return k.group, k.name, nil
}

func parseJobKey(s string) (group, name string, err error) {
	group, name, ok := strings.Cut(s, "/")
	if !ok || group == "" || name == "" {
		return "", "", fmt.Errorf("%q is not GROUP/NAME (for example billing/nightly-invoices)", s)
	}
	return group, name, nil
}
