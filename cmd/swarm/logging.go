package main

import (
	"log/slog"

	"github.com/spf13/cobra"
)

// logFlags are the logging flags of the long-running commands (server,
// client).
type logFlags struct {
	level  string
	format string
}

// addLogFlags registers --log-level and --log-format on cmd.
func addLogFlags(cmd *cobra.Command, lf *logFlags) {
	cmd.Flags().StringVar(&lf.level, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&lf.format, "log-format", "text", "log format: text or json")
}

// logger builds the process logger (on stderr) from the flags.
func (lf *logFlags) logger() (*slog.Logger, error) {
	return buildLogger(lf.level, lf.format)
}
