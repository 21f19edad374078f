package server

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// identityFile records who this data dir belongs to, so a restart needs no
// flags beyond the first start's.
const identityFile = "node.json"

// identityFormat is the version of node.json.
const identityFormat = 1

type identity struct {
	Format   int    `json:"format"`
	NodeID   string `json:"node_id"`
	HTTP     string `json:"http"`
	Raft     string `json:"raft"`
	Gossip   string `json:"gossip,omitempty"`
	Shards   int    `json:"shards"`
	Replicas int    `json:"replicas"`

	// CreatesShards marks the server that bootstrapped the cluster: it
	// alone creates the shard groups.
	CreatesShards bool `json:"creates_shards,omitempty"`
}

// loadIdentity reads node.json; ok is false when the data dir is new.
func loadIdentity(dir string) (identity, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return identity{}, false, nil
	}
	if err != nil {
		return identity{}, false, fmt.Errorf("read identity: %w", err)
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return identity{}, false, fmt.Errorf("read identity %s: corrupt: %w", filepath.Join(dir, identityFile), err)
	}
	if id.Format > identityFormat {
		return identity{}, false, fmt.Errorf("read identity: format %d is newer than this build understands; upgrade swarm", id.Format)
	}
	return id, true, nil
}

func saveIdentity(dir string, id identity) error {
	id.Format = identityFormat
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, identityFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, identityFile)); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	return nil
}

// newNodeID makes a readable, unique id: the host name and a random tail.
func newNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "swarm"
	}
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	return fmt.Sprintf("%s-%04x", host, randUint64()&0xffff)
}

func randUint64() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return binary.BigEndian.Uint64(b[:])
}
