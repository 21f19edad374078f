package shard

import (
	"hash/crc32"

	"github.com/swarmsched/swarm/fsm"
)

// Slot maps a job key ("group/name") to one of fsm.NumSlots slots. The
// hash is CRC-32 (IEEE), stable across versions and platforms: changing it
// would move every job.
func Slot(key string) int {
	return int(crc32.ChecksumIEEE([]byte(key)) % fsm.NumSlots)
}
