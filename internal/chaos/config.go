package chaos

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Defaults of a run.
const (
	DefaultProfile        = "short"
	DefaultSlotMargin     = 5 * time.Second
	DefaultCheckTimeout   = 120 * time.Second // porcupine's budget
	DefaultTmpfsSize      = "64m"
	DefaultClientCap      = 16
	DefaultBasePort       = 7750
	DefaultRequestTimeout = 10 * time.Second
	DefaultGap            = 3 * time.Second // least time between two faults of one lane
)

// Config is one run of the suite. Profile fills what is left zero.
type Config struct {
	// Binary is the swarm binary under test. Required.
	Binary string

	// ArtifactsDir receives the history, logs, sink and report. Defaults
	// to a new directory under the system temp dir.
	ArtifactsDir string

	// Profile: "short" (CI: 3 servers, under 5 minutes) or "long" (5
	// servers, 30 minutes). Defaults to DefaultProfile.
	Profile string

	// Seed drives the fault schedule and the workload's choices. Zero
	// picks one from the clock (and prints it).
	Seed int64

	Servers     int           // swarm server processes (3..5)
	Clients     int           // swarm client processes
	Shards      int           // shard groups of the cluster
	FiringJobs  int           // jobs firing every second
	CRUDKeys    int           // job keys the CRUD workload works on
	CRUDWorkers int           // concurrent CRUD workers
	Warmup      time.Duration // workload without faults before the fault phase
	FaultPhase  time.Duration // how long faults are injected
	Settle      time.Duration // after healing: the bound on waiting for the window's slots to land
	SlotMargin  time.Duration // slots are checked from a job's creation plus this

	// Kinds are the fault kinds to inject (default: all of AllFaultKinds).
	Kinds []string

	// BasePort is the first of the three ports each server listens on
	// (HTTP, Raft, gossip), each server on its own loopback address. It
	// also names the run's addresses, group ids and firewall chains, so
	// that runs with different base ports do not meet.
	BasePort int

	// TmpfsSize is the size of the tmpfs holding the last server's data
	// dir (mount's syntax: "64m"). It must outgrow what the server stores
	// in the whole run: the disk-full fault fills what is left.
	TmpfsSize string

	Logger *slog.Logger
}

// Profile returns the configuration of a named profile.
func Profile(name string) (Config, error) {
	switch name {
	case "short":
		return Config{Profile: name, Servers: 3, Clients: 3, Shards: 6, FiringJobs: 24, CRUDKeys: 12, CRUDWorkers: 4,
			Warmup: 15 * time.Second, FaultPhase: 120 * time.Second, Settle: 75 * time.Second, TmpfsSize: "64m"}, nil
	case "long":
		return Config{Profile: name, Servers: 5, Clients: 4, Shards: 10, FiringJobs: 36, CRUDKeys: 24, CRUDWorkers: 6,
			Warmup: 20 * time.Second, FaultPhase: 27 * time.Minute, Settle: 90 * time.Second, TmpfsSize: "512m"}, nil
	}
	return Config{}, fmt.Errorf("profile: %q is not one of short, long", name)
}

// withDefaults fills zero fields from the profile and the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Profile == "" {
		c.Profile = DefaultProfile
	}
	p, err := Profile(c.Profile)
	if err != nil {
		return c, err
	}
	setInt(&c.Servers, p.Servers)
	setInt(&c.Clients, p.Clients)
	setInt(&c.Shards, p.Shards)
	setInt(&c.FiringJobs, p.FiringJobs)
	setInt(&c.CRUDKeys, p.CRUDKeys)
	setInt(&c.CRUDWorkers, p.CRUDWorkers)
	setInt(&c.BasePort, DefaultBasePort)
	if c.TmpfsSize == "" {
		c.TmpfsSize = p.TmpfsSize
	}
	setDur(&c.Warmup, p.Warmup)
	setDur(&c.FaultPhase, p.FaultPhase)
	setDur(&c.Settle, p.Settle)
	setDur(&c.SlotMargin, DefaultSlotMargin)
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano() % 1_000_000_000
	}
	if len(c.Kinds) == 0 {
		c.Kinds = slices.Clone(AllFaultKinds)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, c.Validate()
}

// Validate names the first field that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Binary == "":
		return errors.New("binary: the swarm binary under test is required")
	case c.Servers < 3 || c.Servers > 9:
		return fmt.Errorf("servers: %d is not in 3..9", c.Servers)
	case c.Clients < 2:
		return fmt.Errorf("clients: %d is below 2 (one must stay up while another is faulted)", c.Clients)
	case c.Shards < 1:
		return fmt.Errorf("shards: %d is below 1", c.Shards)
	case c.FiringJobs < 1 || c.CRUDKeys < 1 || c.CRUDWorkers < 1:
		return errors.New("firing_jobs, crud_keys, crud_workers: each must be at least 1")
	case c.FaultPhase < 10*time.Second:
		return fmt.Errorf("fault_phase: %s is below 10s", c.FaultPhase)
	case c.BasePort < 1024 || c.BasePort > 65000:
		return fmt.Errorf("base_port: %d is not in 1024..65000", c.BasePort)
	}
	for _, k := range c.Kinds {
		if !slices.Contains(AllFaultKinds, k) {
			return fmt.Errorf("kinds: %q is not one of %v", k, AllFaultKinds)
		}
	}
	return nil
}

func setInt(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

func setDur(v *time.Duration, d time.Duration) {
	if *v == 0 {
		*v = d
	}
}
