// Command swarm is the single binary of swarm: "swarm server" runs a server,
// "swarm client" runs a worker, and the other commands talk to a server's
// REST API. This package holds cobra commands, flags and output formats
// only; it never holds business logic.
package main
