package logx

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// HCLog returns an hclog.Logger that writes to l. Raft and memberlist log
// routine state changes at Info for every group; with many groups per
// server that drowns the operator, so their Info becomes Debug here and
// swarm logs the changes that matter itself.
func HCLog(l *slog.Logger, name string) hclog.Logger {
	return &hcAdapter{l: l.With("component", name), name: name}
}

type hcAdapter struct {
	l    *slog.Logger
	name string
	args []interface{}
}

var _ hclog.Logger = (*hcAdapter)(nil)

func (h *hcAdapter) emit(level slog.Level, msg string, args []interface{}) {
	if !h.l.Enabled(context.Background(), level) {
		return
	}
	all := append(append([]interface{}{}, h.args...), args...)
	h.l.Log(context.Background(), level, msg, all...)
}

func (h *hcAdapter) Log(level hclog.Level, msg string, args ...interface{}) {
	h.emit(toSlog(level), msg, args)
}

// routine lists raft warnings that are expected in normal operation (an
// election at start, a peer restarting) and are logged at Debug; swarm
// logs leadership changes itself.
var routine = map[string]bool{
	"heartbeat timeout reached, starting election": true,
	"failed to contact":                            true,
}

func toSlog(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug, hclog.Info:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelDebug
}

func (h *hcAdapter) Trace(msg string, args ...interface{}) { h.emit(slog.LevelDebug-4, msg, args) }
func (h *hcAdapter) Debug(msg string, args ...interface{}) { h.emit(slog.LevelDebug, msg, args) }
func (h *hcAdapter) Info(msg string, args ...interface{})  { h.emit(slog.LevelDebug, msg, args) }
func (h *hcAdapter) Warn(msg string, args ...interface{}) {
	if routine[msg] {
		h.emit(slog.LevelDebug, msg, args)
		return
	}
	h.emit(slog.LevelWarn, msg, args)
}
func (h *hcAdapter) Error(msg string, args ...interface{}) { h.emit(slog.LevelError, msg, args) }

func (h *hcAdapter) IsTrace() bool { return h.l.Enabled(context.Background(), slog.LevelDebug-4) }
func (h *hcAdapter) IsDebug() bool { return h.l.Enabled(context.Background(), slog.LevelDebug) }
func (h *hcAdapter) IsInfo() bool  { return h.l.Enabled(context.Background(), slog.LevelDebug) }
func (h *hcAdapter) IsWarn() bool  { return h.l.Enabled(context.Background(), slog.LevelWarn) }
func (h *hcAdapter) IsError() bool { return h.l.Enabled(context.Background(), slog.LevelError) }

func (h *hcAdapter) ImpliedArgs() []interface{} { return h.args }

func (h *hcAdapter) With(args ...interface{}) hclog.Logger {
	return &hcAdapter{l: h.l, name: h.name, args: append(append([]interface{}{}, h.args...), args...)}
}

func (h *hcAdapter) Name() string { return h.name }

func (h *hcAdapter) Named(name string) hclog.Logger {
	return &hcAdapter{l: h.l.With("sub", name), name: h.name + "." + name, args: h.args}
}

func (h *hcAdapter) ResetNamed(name string) hclog.Logger {
	return &hcAdapter{l: h.l, name: name, args: h.args}
}

func (h *hcAdapter) SetLevel(hclog.Level) {}

func (h *hcAdapter) GetLevel() hclog.Level { return hclog.Debug }

func (h *hcAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelDebug)
}

func (h *hcAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(nil).Writer()
}
