// Package clienttest provides a minimal swarm server for tests of workers:
// it speaks the server side of the WebSocket protocol (docs/protocol.md)
// on a loopback port, answers hello with welcome, sends heartbeats,
// confirms results, records every message it receives, and lets a test
// send fires and kills and drop connections.
//
// It is a test double, not a server: it never schedules, stores or routes.
package clienttest
