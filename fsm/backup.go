package fsm

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// WriteBackup writes a consistent copy of the store to w (a bbolt file)
// while writes continue.
func (s *Shard) WriteBackup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// PrepareRestore readies a backup file for restoring into another Raft
// log: it checks the file is a swarm store of a format this build knows
// and clears its applied index, which belongs to the log it came from.
func PrepareRestore(path string) error {
	db, err := openStore(path)
	if err != nil {
		return fmt.Errorf("prepare restore: %w", err)
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyApplied, u64(0))
	})
}
