package transport

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/swarmsched/swarm/protocol"
)

// nopEvents accepts every client event.
type nopEvents struct{}

func (nopEvents) ClientConnected(ClientInfo, []protocol.Running)        {}
func (nopEvents) ClientDisconnected(string)                             {}
func (nopEvents) Ack(string, *protocol.Ack)                             {}
func (nopEvents) Result(_ string, _ *protocol.Result, done func(error)) { done(nil) }
func (nopEvents) Log(string, *protocol.Log)                             {}

// FuzzClientMessage feeds arbitrary WebSocket messages to a registered
// worker's session, as its reader does: no panic, whatever arrives.
func FuzzClientMessage(f *testing.F) {
	f.Add([]byte(`{"type":"heartbeat","heartbeat":{"running":1}}`))
	f.Add([]byte(`{"type":"ack","ack":{"exec_id":"1.00000000000000aa.1.0","attempt":1,"accepted":false,"reason":"capacity"}}`))
	f.Add([]byte(`{"type":"result","result":{"exec_id":"x","attempt":1,"state":"succeeded","finished_at":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"type":"log","log":{"exec_id":"x","attempt":1,"lines":[{"t":"2026-01-01T00:00:00Z","stream":"stdout","text":"hi"}]}}`))
	f.Add([]byte(`{"type":"drain"}`))
	f.Add([]byte(`{"type":"ack"}`))
	f.Add([]byte(`{"type":"fire","fire":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := NewHub(HubConfig{ServerID: "s", Events: nopEvents{}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s := &session{hub: h, info: ClientInfo{ID: "w", Group: "g", Capacity: 1}, send: make(chan *protocol.Message, 8),
			done: make(chan struct{}), inflight: map[string]bool{}}
		var m protocol.Message
		if err := json.Unmarshal(data, &m); err != nil {
			return // the reader logs and skips a malformed message
		}
		s.handle(&m)
	})
}
