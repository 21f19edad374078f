// Package logx holds logging plumbing shared by swarm's packages: the
// adapter that routes hashicorp libraries' hclog output into log/slog, and
// a rate limiter for log lines that repeat in loops.
package logx
