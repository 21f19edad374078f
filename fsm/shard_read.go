package fsm

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Due is an entry of the due index.
type Due struct {
	MS  int64
	Key string
}

// Job returns the job stored under key, or nil.
func (s *Shard) Job(key string) (*JobRecord, error) {
	var rec *JobRecord
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get([]byte(key))
		if v == nil {
			return nil
		}
		rec = &JobRecord{}
		return unmarshal(v, rec)
	})
	return rec, err
}

// Jobs lists up to limit jobs in key order after the key after, only of
// group when it is not empty.
func (s *Shard) Jobs(group, after string, limit int) ([]*JobRecord, error) {
	var out []*JobRecord
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		prefix := []byte(nil)
		if group != "" {
			prefix = []byte(group + "/")
		}
		k, v := c.Seek(prefix)
		if after != "" && (prefix == nil || strings.HasPrefix(after, string(prefix))) {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			rec := &JobRecord{}
			if err := unmarshal(v, rec); err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// JobCount is the number of jobs in the shard.
func (s *Shard) JobCount() int64 {
	var n uint64
	_ = s.view(func(tx *bolt.Tx) error {
		n = getU64(tx.Bucket(bucketMeta), keyJobs)
		return nil
	})
	return int64(n)
}

// DueUntil returns up to limit due-index entries at or before ms, earliest
// first.
func (s *Shard) DueUntil(ms int64, limit int) ([]Due, error) {
	var out []Due
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			at, key := ParseDueKey(k)
			if at > ms {
				break
			}
			out = append(out, Due{MS: at, Key: key})
		}
		return nil
	})
	return out, err
}

// NextDue returns the earliest due time, and false when nothing is due.
func (s *Shard) NextDue() (int64, bool) {
	var ms int64
	var ok bool
	_ = s.view(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketDue).Cursor().First(); k != nil {
			ms, _ = ParseDueKey(k)
			ok = true
		}
		return nil
	})
	return ms, ok
}

// Exec returns an execution by id, or nil.
func (s *Shard) Exec(id string) (*ExecRecord, error) {
	var e *ExecRecord
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		e, err = getExec(tx, id)
		return err
	})
	return e, err
}

func getExec(tx *bolt.Tx, id string) (*ExecRecord, error) {
	v := tx.Bucket(bucketInflight).Get([]byte(id))
	if v == nil {
		parsed, err := ParseExecID(id)
		if err != nil {
			return nil, nil
		}
		if b := tx.Bucket(bucketHistory).Bucket(hourKey(parsed.ScheduledMS)); b != nil {
			v = b.Get([]byte(id))
		}
	}
	if v == nil {
		return nil, nil
	}
	e := &ExecRecord{}
	return e, unmarshal(v, e)
}

// Execs lists a job incarnation's executions, newest first, after the
// opaque cursor; it returns the cursor of the next page ("" at the end).
func (s *Shard) Execs(jobKey, jobID, cursor string, limit int) ([]*ExecRecord, string, error) {
	var out []*ExecRecord
	var next string
	err := s.view(func(tx *bolt.Tx) error {
		prefix := jobIndexPrefix(jobKey)
		c := tx.Bucket(bucketJobExecs).Cursor()
		k, _ := c.Seek(prefix)
		if cursor != "" {
			from, err := hex.DecodeString(cursor)
			if err != nil || !bytes.HasPrefix(from, prefix) {
				return fmt.Errorf("bad cursor")
			}
			if k, _ = c.Seek(from); k != nil && bytes.Equal(k, from) {
				k, _ = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(out) == limit {
				next = hex.EncodeToString(out[len(out)-1].indexKey())
				break
			}
			_, id := parseIndexKey(k, len(prefix))
			e, err := getExec(tx, id)
			if err != nil {
				return err
			}
			if e != nil && (jobID == "" || e.JobID == jobID) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, next, err
}

func (e *ExecRecord) indexKey() []byte { return indexKey(e.Job, e.ScheduledAt.UnixMilli(), e.ID) }

// Inflight returns every execution that is not terminal, in id order.
func (s *Shard) Inflight() ([]*ExecRecord, error) {
	var out []*ExecRecord
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInflight).ForEach(func(_, v []byte) error {
			e := &ExecRecord{}
			if err := unmarshal(v, e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

func unmarshal(b []byte, v any) error {
	if err := jsonUnmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// Digest hashes the replicated state of the store (every bucket but the
// applied index), so replicas of a shard can be compared: at the same
// applied index they must have the same digest.
func (s *Shard) Digest() (applied uint64, sum string, err error) {
	h := sha256.New()
	err = s.view(func(tx *bolt.Tx) error {
		applied = getU64(tx.Bucket(bucketMeta), keyApplied)
		for _, name := range allBuckets {
			if err := digestBucket(h, name, tx.Bucket(name), 0); err != nil {
				return err
			}
		}
		return nil
	})
	return applied, hex.EncodeToString(h.Sum(nil)), err
}

func digestBucket(h hash.Hash, name []byte, b *bolt.Bucket, depth int) error {
	h.Write([]byte{byte(depth), byte(len(name))})
	h.Write(name)
	return b.ForEach(func(k, v []byte) error {
		if depth == 0 && bytes.Equal(name, bucketMeta) && bytes.Equal(k, keyApplied) {
			return nil
		}
		if v == nil { // a nested bucket
			return digestBucket(h, k, b.Bucket(k), depth+1)
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write(k)
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write(v)
		return nil
	})
}
