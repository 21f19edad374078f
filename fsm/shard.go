package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// storeFormat is the on-disk format of a shard store. A store of a newer
// format is refused at open with ErrNewerFormat.
const storeFormat = 1

// Bucket names of a shard store.
var (
	bucketMeta     = []byte("meta")     // applied index, format, counters
	bucketJobs     = []byte("jobs")     // job key -> JobRecord
	bucketDue      = []byte("due")      // due key (time + job key) -> nil
	bucketInflight = []byte("inflight") // exec id -> ExecRecord, while not terminal
	bucketHistory  = []byte("history")  // hour -> (exec id -> ExecRecord), terminal
	bucketJobExecs = []byte("jobexecs") // job key 0x00 inverted time exec id -> nil

	keyFormat  = []byte("format")
	keyApplied = []byte("applied")
	keyJobs    = []byte("jobs")
)

var allBuckets = [][]byte{bucketMeta, bucketJobs, bucketDue, bucketInflight, bucketHistory, bucketJobExecs}

// Shard is the state machine of one shard replica over a bbolt file. It
// implements raft.BatchingFSM. Reads may run concurrently with Apply.
type Shard struct {
	id   int
	path string

	// mu guards db against the swap in Restore; readers hold it shared.
	mu sync.RWMutex
	db *bolt.DB

	// applied mirrors the stored applied index for cheap reads; storeErr
	// is why the store last failed to apply, nil when it applies.
	appliedMu sync.Mutex
	applied   uint64
	storeErr  error

	interrupt     chan struct{}
	interruptOnce sync.Once

	// OnApply, if set, is called after each applied batch with the
	// commands that applied; the shard leader uses it to learn of
	// cancellations. It runs on the FSM goroutine and must not block.
	OnApply func(cmds []*Command, results []*Result)
}

var _ raft.BatchingFSM = (*Shard)(nil)

// OpenShard opens (or creates) the store at path. It refuses a store of a
// newer format and a file that is not a swarm store.
func OpenShard(id int, path string) (*Shard, error) {
	db, err := openStore(path)
	if err != nil {
		return nil, err
	}
	s := &Shard{id: id, path: path, db: db, interrupt: make(chan struct{})}
	if err := s.loadApplied(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openStore(path string) (*bolt.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      2 * time.Second,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: locked by another process", path)
		}
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrCorrupt, err)
	}
	if err := initStore(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// initStore creates missing buckets and checks the format.
func initStore(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keyFormat)
		if v == nil {
			return meta.Put(keyFormat, u64(storeFormat))
		}
		if len(v) != 8 {
			return ErrCorrupt
		}
		if f := binary.BigEndian.Uint64(v); f > storeFormat {
			return fmt.Errorf("format %d: %w", f, ErrNewerFormat)
		}
		return nil
	})
}

func (s *Shard) loadApplied() error {
	return s.view(func(tx *bolt.Tx) error {
		s.applied = getU64(tx.Bucket(bucketMeta), keyApplied)
		return nil
	})
}

// ID is the shard number.
func (s *Shard) ID() int { return s.id }

// AppliedIndex is the index of the last entry reflected in the store.
func (s *Shard) AppliedIndex() uint64 {
	s.appliedMu.Lock()
	defer s.appliedMu.Unlock()
	return s.applied
}

// Close closes the store.
func (s *Shard) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Close()
}

// SizeBytes is the store file's size.
func (s *Shard) SizeBytes() int64 {
	var n int64
	_ = s.view(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n
}

func (s *Shard) view(fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(fn)
}

// Apply applies one entry. Raft calls ApplyBatch instead; Apply exists for
// the raft.FSM interface.
func (s *Shard) Apply(l *raft.Log) interface{} {
	return s.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in one bbolt transaction, together
// with the new applied index, so the store is never ahead of or behind what
// it says it applied. Entries at or below the stored index were applied
// before a restart and are skipped.
//
// When the store cannot take the batch (a full disk), ApplyBatch retries
// until it can, rather than let the replica diverge from its log: reads of
// what was applied go on, writes wait (and time out) until space returns.
// Interrupt ends the wait when the server stops; the batch is then left
// unapplied on disk and is applied again from the log at the next start.
func (s *Shard) ApplyBatch(logs []*raft.Log) []interface{} {
	backoff := 50 * time.Millisecond
	for {
		out, cmds, results, err := s.applyOnce(logs)
		if err == nil {
			if s.OnApply != nil && len(cmds) > 0 {
				s.OnApply(cmds, results)
			}
			return out
		}
		s.setStoreErr(err)
		select {
		case <-s.interrupt:
			return make([]interface{}, len(logs))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Shard) applyOnce(logs []*raft.Log) ([]interface{}, []*Command, []*Result, error) {
	out := make([]interface{}, len(logs))
	cmds := make([]*Command, 0, len(logs))
	results := make([]*Result, 0, len(logs))

	s.mu.RLock()
	defer s.mu.RUnlock()
	var applied uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		a := &applier{tx: tx, shard: s.id}
		applied = getU64(tx.Bucket(bucketMeta), keyApplied)
		for i, l := range logs {
			if l.Index <= applied || l.Type != raft.LogCommand {
				continue
			}
			cmd, res := a.applyEntry(l.Data)
			out[i] = res
			if cmd != nil {
				cmds = append(cmds, cmd)
				results = append(results, res)
			}
		}
		applied = max(applied, logs[len(logs)-1].Index)
		return tx.Bucket(bucketMeta).Put(keyApplied, u64(applied))
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("shard %d: commit applied entries to %s: %w", s.id, s.path, err)
	}
	s.setApplied(applied)
	s.setStoreErr(nil)
	return out, cmds, results, nil
}

// StoreError is the error that keeps the store from applying, nil when it
// applies. The server reports it (a full disk, say).
func (s *Shard) StoreError() error {
	s.appliedMu.Lock()
	defer s.appliedMu.Unlock()
	return s.storeErr
}

func (s *Shard) setStoreErr(err error) {
	s.appliedMu.Lock()
	s.storeErr = err
	s.appliedMu.Unlock()
}

// Interrupt stops an ApplyBatch that waits for the store to take a batch,
// so the Raft member can shut down. Call it before shutting the member
// down; it is safe to call more than once.
func (s *Shard) Interrupt() {
	s.interruptOnce.Do(func() { close(s.interrupt) })
}

func (s *Shard) setApplied(i uint64) {
	s.appliedMu.Lock()
	s.applied = i
	s.appliedMu.Unlock()
}

// Snapshot captures the store in a read transaction; Persist streams it.
// Writes continue meanwhile (bbolt MVCC).
func (s *Shard) Snapshot() (raft.FSMSnapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("snapshot shard %d: %w", s.id, err)
	}
	return &shardSnapshot{tx: tx}, nil
}

type shardSnapshot struct {
	tx *bolt.Tx
}

func (ss *shardSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := ss.tx.WriteTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (ss *shardSnapshot) Release() { _ = ss.tx.Rollback() }

// Restore replaces the store with a snapshot: it writes the snapshot to a
// temporary file beside the store, syncs and checks it, then swaps it in
// while readers wait.
func (s *Shard) Restore(rc io.ReadCloser) error {
	defer rc.Close()

	tmp := s.path + ".restore"
	if err := writeFileSync(tmp, rc); err != nil {
		return fmt.Errorf("restore shard %d: %w", s.id, err)
	}
	check, err := openStore(tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore shard %d: %w", s.id, err)
	}
	check.Close()

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("restore shard %d: close store: %w", s.id, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("restore shard %d: %w", s.id, err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return fmt.Errorf("restore shard %d: %w", s.id, err)
	}
	db, err := openStore(s.path)
	if err != nil {
		return fmt.Errorf("restore shard %d: %w", s.id, err)
	}
	s.db = db
	return db.View(func(tx *bolt.Tx) error {
		s.setApplied(getU64(tx.Bucket(bucketMeta), keyApplied))
		return nil
	})
}

func writeFileSync(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
