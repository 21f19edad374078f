package server

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/fsm"
	"github.com/swarmsched/swarm/scheduler"
	"github.com/swarmsched/swarm/transport"
)

// A cluster snapshot is a tar archive: manifest.json, then one bbolt file
// per shard (shards/N.db), each a consistent copy of that shard taken on
// its leader. Restore replaces every shard's state through its Raft group
// (the leader takes the state and sends it to its followers) and puts the
// calendars back; the target cluster must have the same shards and slots.

// snapshotFormat is the version of the archive layout.
const snapshotFormat = 1

type manifest struct {
	Format    int                      `json:"format"`
	ClusterID string                   `json:"cluster_id"`
	CreatedAt time.Time                `json:"created_at"`
	Shards    []int                    `json:"shards"`
	Slots     []fsm.SlotRange          `json:"slots"`
	Calendars []calendarSpecForArchive `json:"calendars,omitempty"`
}

type calendarSpecForArchive = json.RawMessage

func (s *Server) snapshotRoutes(a *transport.API) {
	a.Handle("GET /v1/snapshot", http.HandlerFunc(s.saveSnapshot))
	a.Handle("POST /v1/snapshot", http.HandlerFunc(s.restoreSnapshot))
	a.Handle("GET /v1/internal/shards/{n}/backup", s.peerOnly(s.handleShardBackup))
	a.Handle("POST /v1/internal/shards/{n}/restore", s.peerOnly(s.handleShardRestore))
}

// saveSnapshot streams the archive: the manifest first, then each shard
// from its leader.
func (s *Server) saveSnapshot(w http.ResponseWriter, r *http.Request) {
	st := s.meta.State()
	m := manifest{Format: snapshotFormat, ClusterID: st.ClusterID, CreatedAt: s.clock.Now().UTC(), Slots: st.Slots}
	for _, sh := range st.Shards {
		m.Shards = append(m.Shards, sh.ID)
	}
	for _, name := range sortedNames(st.Calendars) {
		b, _ := json.Marshal(st.Calendars[name])
		m.Calendars = append(m.Calendars, b)
	}

	// Fetch every shard first, so a failure answers an error rather than
	// a truncated archive.
	dir, err := os.MkdirTemp(s.cfg.DataDir, "snapshot-")
	if err != nil {
		writeErr(w, err)
		return
	}
	defer os.RemoveAll(dir)
	for _, n := range m.Shards {
		if err := s.fetchShard(r.Context(), n, filepath.Join(dir, strconv.Itoa(n)+".db")); err != nil {
			writeErr(w, fmt.Errorf("snapshot shard %d: %w", n, err))
			return
		}
	}

	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="swarm-snapshot.tar"`)
	tw := tar.NewWriter(w)
	mb, _ := json.MarshalIndent(m, "", "  ")
	writeTarFile(tw, "manifest.json", mb)
	for _, n := range m.Shards {
		if err := writeTarPath(tw, fmt.Sprintf("shards/%d.db", n), filepath.Join(dir, strconv.Itoa(n)+".db")); err != nil {
			s.log.Warn("write snapshot", "error", err)
			return
		}
	}
	tw.Close()
}

// fetchShard copies shard n from its leader into path.
func (s *Server) fetchShard(ctx context.Context, n int, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return (&backend{s: s}).onLeader(ctx, n, func(leader string) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		if leader == s.id.NodeID {
			rn, err := (&backend{s: s}).leader(n)
			if err != nil {
				return err
			}
			_, err = rn.Shard.WriteBackup(f)
			return err
		}
		return s.peers.download(ctx, leader, fmt.Sprintf("/v1/internal/shards/%d/backup", n), f)
	})
}

func (s *Server) handleShardBackup(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	rn, err := (&backend{s: s}).leader(n)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := rn.Shard.WriteBackup(w); err != nil {
		s.log.Warn("write shard backup", "shard", n, "error", err)
	}
}

// restoreSnapshot reads an archive and restores every shard, then the
// calendars.
func (s *Server) restoreSnapshot(w http.ResponseWriter, r *http.Request) {
	dir, err := os.MkdirTemp(s.cfg.DataDir, "restore-")
	if err != nil {
		writeErr(w, err)
		return
	}
	defer os.RemoveAll(dir)
	m, err := readArchive(r.Body, dir)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := s.checkManifest(m); err != nil {
		writeErr(w, err)
		return
	}
	for _, n := range m.Shards {
		if err := s.restoreShard(r.Context(), n, filepath.Join(dir, strconv.Itoa(n)+".db")); err != nil {
			writeErr(w, fmt.Errorf("restore shard %d: %w", n, err))
			return
		}
	}
	for _, raw := range m.Calendars {
		if err := s.restoreCalendar(r.Context(), raw); err != nil {
			writeErr(w, err)
			return
		}
	}
	s.log.Info("cluster snapshot restored", "shards", len(m.Shards), "from_cluster", m.ClusterID, "taken_at", m.CreatedAt)
	writeOK(w, map[string]any{"shards": len(m.Shards), "calendars": len(m.Calendars)})
}

func (s *Server) checkManifest(m *manifest) error {
	if m.Format > snapshotFormat {
		return api.Invalid("format", "the snapshot's format %d is newer than this server understands (%d): upgrade swarm", m.Format, snapshotFormat)
	}
	st := s.meta.State()
	if len(m.Shards) != len(st.Shards) || len(m.Slots) != len(st.Slots) {
		return api.Invalid("shards", "the snapshot has %d shards, this cluster %d: restore into a cluster started with --shards %d", len(m.Shards), len(st.Shards), len(m.Shards))
	}
	for i, r := range m.Slots {
		if st.Slots[i] != r {
			return api.Invalid("slots", "the snapshot's slot map differs from this cluster's")
		}
	}
	return nil
}

// restoreShard makes shard n's group take the state in path.
func (s *Server) restoreShard(ctx context.Context, n int, path string) error {
	if err := fsm.PrepareRestore(path); err != nil {
		return api.Invalid("shards", "shard %d: %v", n, err)
	}
	return (&backend{s: s}).onLeader(ctx, n, func(leader string) error {
		if leader == s.id.NodeID {
			return s.restoreLocal(n, path)
		}
		return s.peers.upload(ctx, leader, fmt.Sprintf("/v1/internal/shards/%d/restore", n), path)
	})
}

func (s *Server) handleShardRestore(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	f, err := os.CreateTemp(s.cfg.DataDir, "shard-restore-")
	if err != nil {
		writeErr(w, err)
		return
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r.Body)
	f.Close()
	if err != nil {
		writeErr(w, api.Invalid("", "read shard: %v", err))
		return
	}
	if err := fsm.PrepareRestore(f.Name()); err != nil {
		writeErr(w, api.Invalid("shards", "shard %d: %v", n, err))
		return
	}
	if err := s.restoreLocal(n, f.Name()); err != nil {
		writeErr(w, err)
		return
	}
	writeOK(w, struct{}{})
}

// restoreLocal restores shard n, which this server leads, from path. The
// leader takes the state and installs it on its followers; the fire loop
// starts over from the restored due index.
func (s *Server) restoreLocal(n int, path string) error {
	rn, err := (&backend{s: s}).leader(n)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: info.Size()}
	if err := rn.Group.Raft.Restore(meta, f, 5*time.Minute); err != nil {
		return proposeError(err)
	}
	rn.Restart()
	return nil
}

// restoreCalendar puts a calendar back (this server leads the meta group:
// the router sends a restore there).
func (s *Server) restoreCalendar(ctx context.Context, raw json.RawMessage) error {
	var spec scheduler.CalendarSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return api.Invalid("calendars", "snapshot calendar: %v", err)
	}
	b := &backend{s: s}
	_, err := b.PutCalendar(ctx, spec, false)
	if api.StatusOf(err) == http.StatusNotFound {
		_, err = b.PutCalendar(ctx, spec, true)
	}
	return err
}

// readArchive unpacks the manifest and the shard files into dir.
func readArchive(r io.Reader, dir string) (*manifest, error) {
	tr := tar.NewReader(r)
	var m *manifest
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, api.Invalid("", "not a swarm snapshot (tar): %v", err)
		}
		switch {
		case h.Name == "manifest.json":
			m = &manifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(m); err != nil {
				return nil, api.Invalid("", "snapshot manifest: %v", err)
			}
		case strings.HasPrefix(h.Name, "shards/") && strings.HasSuffix(h.Name, ".db"):
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(h.Name, "shards/"), ".db"))
			if err != nil || n < 0 || n >= MaxShards {
				return nil, api.Invalid("", "snapshot: bad entry %q", h.Name)
			}
			if err := copyToFile(filepath.Join(dir, strconv.Itoa(n)+".db"), tr); err != nil {
				return nil, err
			}
		}
	}
	if m == nil {
		return nil, api.Invalid("", "not a swarm snapshot: no manifest.json")
	}
	for _, n := range m.Shards {
		if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(n)+".db")); err != nil {
			return nil, api.Invalid("", "snapshot: shard %d is missing", n)
		}
	}
	return m, nil
}

func copyToFile(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func writeTarPath(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: info.Size(), ModTime: info.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
