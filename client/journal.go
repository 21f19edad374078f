package client

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/swarmsched/swarm/protocol"
)

// journalFile is the journal's name inside DataDir.
const journalFile = "journal.db"

// Journal buckets.
var (
	bucketRuns    = []byte("runs")    // runKey -> runRecord: runs that have not ended
	bucketResults = []byte("results") // runKey -> protocol.Result: not yet confirmed
	bucketMeta    = []byte("meta")    // "client_id" -> id
	bucketDone    = []byte("done")    // started_at+runKey: confirmed runs, the last doneKept
	bucketRefused = []byte("refused") // refused_at+runKey -> reason: final refusals, the last doneKept
)

// doneKept bounds the confirmed runs the journal remembers, so a worker
// that restarts never runs a fire it already ran when the server sends it
// again (its results were recorded, but the server may not know yet that
// the worker saw the confirmation).
const doneKept = 4096

var metaClientID = []byte("client_id")

// Run kinds in the journal.
const (
	kindProcess = "process"
	kindHandler = "handler"
)

// runKey names one run: an execution and its attempt.
type runKey struct {
	execID  string
	attempt int
}

func (k runKey) bytes() []byte {
	return []byte(k.execID + "\x00" + strconv.Itoa(k.attempt))
}

// runRecord is a journalled run. PID and ProcStart name the group leader
// (the exec shim) once it started.
type runRecord struct {
	Fire      protocol.Fire `json:"fire"`
	Kind      string        `json:"kind"`
	PID       int           `json:"pid,omitempty"`
	ProcStart uint64        `json:"proc_start,omitempty"`
	StartedAt time.Time     `json:"started_at"`
	RunDir    string        `json:"run_dir,omitempty"`
}

func (r runRecord) key() runKey { return runKey{r.Fire.ExecID, r.Fire.Attempt} }

// journal is the client's bbolt file of running processes and unconfirmed
// results. Every write is one fsynced transaction.
type journal struct {
	db *bolt.DB
}

func openJournal(dir string) (*journal, error) {
	db, err := bolt.Open(filepath.Join(dir, journalFile), 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open journal: %w", ErrDataDirInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRuns, bucketResults, bucketMeta, bucketDone, bucketRefused} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create journal buckets: %w", err)
	}
	return &journal{db: db}, nil
}

func (j *journal) close() error {
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	return nil
}

// clientID returns the persisted client id, creating "<host>-<random>"
// on first use.
func (j *journal) clientID() (string, error) {
	var id string
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(metaClientID); v != nil {
			id = string(v)
			return nil
		}
		id = newClientID()
		return b.Put(metaClientID, []byte(id))
	})
	if err != nil {
		return "", fmt.Errorf("journal client id: %w", err)
	}
	return id, nil
}

func newClientID() string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand never fails on Linux
	return hostPart() + "-" + hex.EncodeToString(r[:])
}

// putRun records a run that starts (or its pid once known).
func (j *journal) putRun(rec runRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode run: %w", err)
	}
	err = j.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).Put(rec.key().bytes(), v)
	})
	if err != nil {
		return fmt.Errorf("journal run: %w", err)
	}
	return nil
}

// dropRun forgets a run that never started.
func (j *journal) dropRun(k runKey) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).Delete(k.bytes())
	})
	if err != nil {
		return fmt.Errorf("journal drop run: %w", err)
	}
	return nil
}

// finish replaces a run by its result in one transaction, so a crash
// leaves either the run (and it is looked at again) or the result.
func (j *journal) finish(res protocol.Result) error {
	v, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	k := runKey{res.ExecID, res.Attempt}.bytes()
	err = j.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketRuns).Delete(k); err != nil {
			return err
		}
		return tx.Bucket(bucketResults).Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("journal result: %w", err)
	}
	return nil
}

// confirm forgets a result the server confirmed, and remembers the run
// among the last doneKept done (keyed by start time, then run, so the
// oldest go first).
func (j *journal) confirm(k runKey, startedAt time.Time) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketResults).Delete(k.bytes()); err != nil {
			return err
		}
		return putBounded(tx, bucketDone, metaDoneCount, timedKey(startedAt, k), nil)
	})
	if err != nil {
		return fmt.Errorf("journal confirm: %w", err)
	}
	return nil
}

// refuse remembers a final refusal among the last doneKept, so a worker
// that restarts gives a copy of the fire re-sent later the same answer:
// the server may have sent the fire to another worker on the first.
func (j *journal) refuse(k runKey, reason string, at time.Time) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		return putBounded(tx, bucketRefused, metaRefusedCount, timedKey(at, k), []byte(reason))
	})
	if err != nil {
		return fmt.Errorf("journal refusal: %w", err)
	}
	return nil
}

// timedKey orders a bucket of runs by time, then run, so the oldest go
// first.
func timedKey(at time.Time, k runKey) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())), k.bytes()...)
}

// load returns every journalled run and unconfirmed result.
func (j *journal) load() ([]runRecord, []protocol.Result, error) {
	var runs []runRecord
	var results []protocol.Result
	err := j.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketRuns).ForEach(func(_, v []byte) error {
			var rec runRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode run: %w", err)
			}
			runs = append(runs, rec)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketResults).ForEach(func(_, v []byte) error {
			var res protocol.Result
			if err := json.Unmarshal(v, &res); err != nil {
				return fmt.Errorf("decode result: %w", err)
			}
			results = append(results, res)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load journal: %w", err)
	}
	return runs, results, nil
}

var (
	metaDoneCount    = []byte("done_count")
	metaRefusedCount = []byte("refused_count")
)

// putBounded adds key to a bucket of timed keys (unless there already)
// and keeps the bucket to doneKept entries, dropping the oldest. The
// count lives in the meta bucket under countKey.
func putBounded(tx *bolt.Tx, bucket, countKey, key, value []byte) error {
	b := tx.Bucket(bucket)
	if b.Get(key) != nil {
		return nil
	}
	if err := b.Put(key, value); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	n := 1
	if v := meta.Get(countKey); len(v) == 8 {
		n += int(binary.BigEndian.Uint64(v))
	}
	c := b.Cursor()
	for k, _ := c.First(); k != nil && n > doneKept; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	return meta.Put(countKey, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// doneRuns returns the confirmed runs the journal remembers.
func (j *journal) doneRuns() (map[runKey]time.Time, error) {
	out := map[runKey]time.Time{}
	err := j.forEachTimed(bucketDone, func(k runKey, at time.Time, _ []byte) { out[k] = at })
	if err != nil {
		return nil, fmt.Errorf("journal done runs: %w", err)
	}
	return out, nil
}

// refusals returns the final refusals the journal remembers, with their
// reasons.
func (j *journal) refusals() (map[runKey]string, error) {
	out := map[runKey]string{}
	err := j.forEachTimed(bucketRefused, func(k runKey, _ time.Time, v []byte) { out[k] = string(v) })
	if err != nil {
		return nil, fmt.Errorf("journal refusals: %w", err)
	}
	return out, nil
}

// forEachTimed calls fn for every well-formed entry of a bucket of timed
// keys, oldest first.
func (j *journal) forEachTimed(bucket []byte, fn func(runKey, time.Time, []byte)) error {
	return j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			if len(k) < 8 {
				return nil
			}
			exec, att, ok := strings.Cut(string(k[8:]), "\x00")
			n, err := strconv.Atoi(att)
			if !ok || err != nil {
				return nil
			}
			fn(runKey{exec, n}, time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC(), v)
			return nil
		})
	})
}
