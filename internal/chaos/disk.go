package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fillChunk is the size of one write of the disk filler.
const fillChunk = 1 << 20

// smallDisk is a tmpfs holding one server's data dir, which the nemesis
// fills and frees.
type smallDisk struct {
	dir string
}

// mountSmallDisk mounts a tmpfs of size (mount's syntax, "64m") on dir.
func mountSmallDisk(dir, size string) (*smallDisk, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the disk-full fault needs root to mount a tmpfs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mount small disk: %w", err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		return nil, fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return &smallDisk{dir: dir}, nil
}

func (d *smallDisk) fillPath() string { return filepath.Join(d.dir, "chaos-fill") }

// fill writes a file until the disk has no space left, and returns how
// many bytes it took.
func (d *smallDisk) fill() (int64, error) {
	f, err := os.OpenFile(d.fillPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("fill disk: %w", err)
	}
	defer f.Close()
	buf := make([]byte, fillChunk)
	var total int64
	for size := fillChunk; size >= 512; {
		n, err := f.Write(buf[:size])
		total += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			size /= 2 // fill the last pages too
			continue
		}
		if err != nil {
			return total, fmt.Errorf("fill disk: %w", err)
		}
	}
	return total, nil
}

// free removes the filler.
func (d *smallDisk) free() error {
	if err := os.Remove(d.fillPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("free disk: %w", err)
	}
	return nil
}

// usage returns the bytes used and the size of the disk.
func (d *smallDisk) usage() (used, size uint64) {
	var st syscall.Statfs_t
	if syscall.Statfs(d.dir, &st) != nil {
		return 0, 0
	}
	bs := uint64(st.Bsize)
	return (st.Blocks - st.Bfree) * bs, st.Blocks * bs
}

// TODO: a SIGKILL of the harness leaves the tmpfs mounted in the
// artifacts dir.

// unmount removes the tmpfs (lazily, should a file stay open).
func (d *smallDisk) unmount() error {
	if err := syscall.Unmount(d.dir, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s: %w", d.dir, err)
	}
	return nil
}
