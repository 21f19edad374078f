// Package protocol defines the messages swarm servers and workers exchange
// over the WebSocket at /v1/connect, and the protocol version. The document
// docs/protocol.md describes the same protocol for writers of workers in
// other languages; tests check the two agree.
//
// The package holds types and constants only: it never dials, listens,
// schedules or runs anything.
package protocol
