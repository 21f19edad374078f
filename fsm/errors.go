package fsm

import "errors"

// ErrNewerFormat is returned when a store or snapshot was written by a newer
// swarm whose format this build does not know.
var ErrNewerFormat = errors.New("store format is newer than this build understands")

// ErrCorrupt is returned when a store file is damaged or not a swarm store.
var ErrCorrupt = errors.New("store is corrupt or not a swarm store")
