// Package e2e runs swarm as users do: the real binary, several server and
// worker processes on loopback, driven through the CLI and the REST API.
// It holds tests only.
package e2e
