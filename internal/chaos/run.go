package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/swarmsched/swarm/api"
)

// Phase bounds.
const (
	startWithin   = 120 * time.Second // cluster up, replicated, workers registered
	readyWithin   = 120 * time.Second // after healing
	digestWithin  = 60 * time.Second  // replicas reach one applied index
	digestEvery   = 300 * time.Millisecond
	finalPollWait = 2 * time.Second // after pausing the firing jobs
	settleAtLeast = 35 * time.Second
	drainEvery    = 5 * time.Second
)

// run is the state of one Run.
type run struct {
	cfg     Config
	art     string // artifacts dir
	work    string // data dirs
	sink    string
	report  *Report
	fw      *firewall
	disk    *smallDisk
	cluster *cluster
	nem     *nemesis
	rec     *recorder
	execs   *execLog
	jobs    []FiringJob

	finalReads map[string]FinalRead
	digests    map[int][]DigestRound

	superCancel context.CancelFunc // ends process supervision
}

// Run carries out one run: start the cluster, run the workload under the
// nemesis, heal, check. It returns the report, whose Passed says whether
// every check held; an error means the harness itself could not finish.
// Whatever happens, it kills its processes, removes its firewall rules
// and unmounts its tmpfs before returning.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.cleanup()

	if err := r.execute(ctx); err != nil {
		r.report.Problems = append(r.report.Problems, err.Error())
		r.report.Wall = time.Since(r.report.Started).Round(time.Second).String()
		r.stopProcesses()
		_ = r.report.write(r.art)
		return r.report, err
	}
	return r.report, nil
}

// prepare lays out the artifacts, the firewall and the tmpfs; kinds that
// cannot be injected here are skipped with the reason in the report.
func prepare(ctx context.Context, cfg Config) (*run, error) {
	art := cfg.ArtifactsDir
	if art == "" {
		art = filepath.Join(os.TempDir(), "swarm-chaos", fmt.Sprintf("%s-%d-%s", cfg.Profile, cfg.Seed, time.Now().Format("20060102-150405")))
	}
	art, err := filepath.Abs(art)
	if err != nil {
		return nil, fmt.Errorf("artifacts dir: %w", err)
	}
	if strings.ContainsAny(art, "'\"\\$` ") {
		return nil, fmt.Errorf("artifacts dir: %q must not hold quotes, spaces or shell characters (the sink path is in a shell command)", art)
	}
	for _, d := range []string{art, filepath.Join(art, "logs"), filepath.Join(art, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("artifacts dir: %w", err)
		}
	}
	r := &run{cfg: cfg, art: art, work: filepath.Join(art, "data"), sink: filepath.Join(art, "sink.tsv"),
		rec: &recorder{start: time.Now()}, execs: newExecLog()}
	r.report = &Report{Profile: cfg.Profile, Seed: cfg.Seed, Binary: cfg.Binary, ArtifactsDir: art, Started: time.Now(),
		Servers: cfg.Servers, Clients: cfg.Clients, Shards: cfg.Shards, SkippedKinds: map[string]string{},
		Replay: fmt.Sprintf("go run ./internal/chaos/cmd/swarm-chaos --profile %s --seed %d --binary %s", cfg.Profile, cfg.Seed, cfg.Binary)}

	// Run a copy: the binary under test must not change or vanish while
	// the nemesis restarts processes, and it stays with the artifacts.
	bin, err := copyBinary(cfg.Binary, filepath.Join(art, "bin"))
	if err != nil {
		return nil, err
	}
	r.cfg.Binary = bin
	cfg.Binary = bin

	r.setupFaults()
	superCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.superCancel = cancel
	diskServer := cfg.Servers - 1
	diskDir := filepath.Join(r.work, fmt.Sprintf("s%d", cfg.Servers))
	if r.disk != nil {
		diskDir = r.disk.dir
	}
	r.cluster = newCluster(superCtx, cfg, r.work, filepath.Join(art, "logs"), diskServer, diskDir, r.fw != nil)
	r.nem = &nemesis{c: r.cluster, fw: r.fw, disk: r.disk, log: cfg.Logger}
	return r, nil
}

// copyBinary copies the binary under test into dir.
func copyBinary(src, dir string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("copy binary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("copy binary: %w", err)
	}
	dst := filepath.Join(dir, "swarm")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return "", fmt.Errorf("copy binary: %w", err)
	}
	return dst, nil
}

// setupFaults installs the firewall and the tmpfs the planned kinds need.
func (r *run) setupFaults() {
	wants := func(kinds ...string) bool {
		return slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(r.cfg.Kinds, k) })
	}
	if wants(FaultPartitionOne, FaultPartitionTwo, FaultPartitionAlone) {
		var fs []fwServer
		for i := range r.cfg.Servers {
			fs = append(fs, fwServer{gid: serverGID(r.cfg.BasePort, i), ip: serverIP(r.cfg.BasePort, i)})
		}
		fw, err := newFirewall(fmt.Sprintf("%s%d", fwName, r.cfg.BasePort), fs)
		if err != nil {
			r.skip(err.Error(), FaultPartitionOne, FaultPartitionTwo, FaultPartitionAlone)
		}
		r.fw = fw
	}
	if wants(FaultDiskFull) {
		d, err := mountSmallDisk(filepath.Join(r.work, fmt.Sprintf("s%d", r.cfg.Servers)), r.cfg.TmpfsSize)
		if err != nil {
			r.skip(err.Error(), FaultDiskFull)
		}
		r.disk = d
	}
}

func (r *run) skip(why string, kinds ...string) {
	for _, k := range kinds {
		if slices.Contains(r.cfg.Kinds, k) {
			r.report.SkippedKinds[k] = why
			r.cfg.Logger.Warn("fault kind skipped", "kind", k, "reason", why)
		}
	}
	r.cfg.Kinds = slices.DeleteFunc(r.cfg.Kinds, func(k string) bool { return slices.Contains(kinds, k) })
}

// execute runs the phases in order.
func (r *run) execute(ctx context.Context) error {
	log := r.cfg.Logger
	log.Info("starting cluster", "servers", r.cfg.Servers, "clients", r.cfg.Clients, "seed", r.cfg.Seed, "artifacts", r.art)
	if err := r.cluster.start(startWithin); err != nil {
		return err
	}
	jobs, err := createFiringJobs(ctx, r.cluster, r.cfg.FiringJobs, r.sink)
	if err != nil {
		return err
	}
	r.jobs = jobs
	if err := r.faultPhase(ctx); err != nil {
		return err
	}
	if err := r.settle(ctx); err != nil {
		return err
	}
	return r.check()
}

// faultPhase runs the workload for the warm-up, then under the nemesis;
// it ends with every fault healed and the CRUD workers stopped.
func (r *run) faultPhase(ctx context.Context) error {
	rc, err := api.NewClient(r.cluster.httpAddrs(), api.WithTimeout(execPollTimeout/2))
	if err != nil {
		return err
	}
	pollCtx, stopPoll := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.execs.run(pollCtx, rc, r.jobs) })
	var load loadSampler
	wg.Go(func() { load.run(pollCtx) })
	defer func() {
		r.report.Load = load.stats(runtime.NumCPU())
		stopPoll()
		wg.Wait()
	}()

	crudCtx, stopCRUD := context.WithCancel(ctx)
	var crud sync.WaitGroup
	for w := range r.cfg.CRUDWorkers {
		rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(100+w)))
		crud.Go(func() { runCRUD(crudCtx, r.cluster, r.rec, w, r.cfg.CRUDKeys, rng) })
	}

	r.cfg.Logger.Info("warm-up", "for", r.cfg.Warmup)
	pause(ctx, r.cfg.Warmup)
	plan := Plan(r.cfg.Seed, r.cfg, r.cfg.Kinds, r.cfg.Servers-1)
	_ = writeJSON(filepath.Join(r.art, "plan.json"), plan)
	start := time.Now()
	end := start.Add(r.cfg.FaultPhase)
	r.cfg.Logger.Info("fault phase", "for", r.cfg.FaultPhase, "planned_faults", len(plan))
	r.nem.run(ctx, plan, start, end)
	pause(ctx, time.Until(end))
	r.heal()
	r.report.FaultPhase = [2]time.Time{start, time.Now()}

	stopCRUD()
	crud.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("fault phase: %w", ctx.Err())
	}
	return nil
}

// heal undoes anything a fault may have left: cuts, pauses, a full disk.
func (r *run) heal() {
	if r.fw != nil {
		_ = r.fw.heal()
	}
	if r.disk != nil {
		_ = r.disk.free()
	}
	r.cluster.resumeAll()
}

// settle waits for the healed cluster, lets late fires and retries land,
// reads the final state, stops the firing and polls the digests.
func (r *run) settle(ctx context.Context) error {
	log := r.cfg.Logger
	log.Info("settling", "for", r.cfg.Settle)
	if err := r.cluster.waitReady(readyWithin); err != nil {
		r.report.Problems = append(r.report.Problems, "after healing: "+err.Error())
	}
	rc, err := api.NewClient(r.cluster.httpAddrs(), api.WithTimeout(execPollTimeout/2))
	if err != nil {
		return err
	}
	r.drain(ctx, rc)
	if ctx.Err() != nil {
		return fmt.Errorf("settle: %w", ctx.Err())
	}

	final, err := finalReads(ctx, r.cluster, r.rec, r.cfg.CRUDWorkers, usedKeys(r.rec.all()))
	if err != nil {
		return err
	}
	r.finalReads = final

	r.pauseFiring(ctx)
	pause(ctx, finalPollWait)
	r.execs.pollOnce(ctx, rc, r.jobs)
	r.digests = r.pollDigests(ctx)
	return nil
}

// pauseFiring pauses the firing jobs, so that the replicas can reach one
// applied index; a loaded machine may need a few tries.
func (r *run) pauseFiring(ctx context.Context) {
	rc, err := api.NewClient(r.cluster.httpAddrs(), api.WithTimeout(DefaultRequestTimeout))
	if err != nil {
		r.report.Problems = append(r.report.Problems, "pause firing jobs: "+err.Error())
		return
	}
	for attempt := 1; ; attempt++ {
		_, err := rc.PauseGroup(ctx, fireGroup)
		if err == nil {
			return
		}
		if attempt == 5 || !pause(ctx, time.Second) {
			r.report.Problems = append(r.report.Problems, "pause firing jobs: "+err.Error())
			return
		}
	}
}

// drain waits at least settleAtLeast (a lost run's retry comes after the
// client grace), then until every slot of the window has run or ended,
// for Settle at most, polling the executions as it goes.
func (r *run) drain(ctx context.Context, rc *api.RESTClient) {
	start := time.Now()
	in := SlotInput{Jobs: r.jobs, Margin: r.cfg.SlotMargin, WindowEnd: r.report.FaultPhase[1]}
	for {
		r.execs.pollOnce(ctx, rc, r.jobs)
		in.Fires, _, _ = readSink(r.sink)
		in.Execs = r.execs.all()
		pending := PendingSlots(in)
		waited := time.Since(start)
		if (pending == 0 && waited >= settleAtLeast) || waited >= r.cfg.Settle {
			r.report.PendingAfterSettle = pending
			r.cfg.Logger.Info("settled", "after", waited.Round(time.Second), "pending_slots", pending)
			return
		}
		if !pause(ctx, drainEvery) {
			return
		}
	}
}

// pollDigests polls every replica of every shard until each shard has
// shown all its replicas at one applied index, or digestWithin passes.
func (r *run) pollDigests(ctx context.Context) map[int][]DigestRound {
	rounds := map[int][]DigestRound{}
	done := map[int]bool{}
	addr := map[string]string{}
	for _, s := range r.cluster.servers {
		addr[s.id] = s.http
	}
	deadline := time.Now().Add(digestWithin)
	for time.Now().Before(deadline) {
		view, err := r.cluster.clusterView()
		if err != nil {
			pause(ctx, digestEvery)
			continue
		}
		pending := 0
		for _, sh := range view.Shards {
			if done[sh.ID] {
				continue
			}
			round := r.digestRound(sh, addr)
			rounds[sh.ID] = append(rounds[sh.ID], round)
			if len(round) >= min(replicas, len(sh.Replicas)) && sameIndex(round) {
				done[sh.ID] = true
			} else {
				pending++
			}
		}
		if pending == 0 || !pause(ctx, digestEvery) {
			break
		}
	}
	return rounds
}

func (r *run) digestRound(sh api.ClusterShard, addr map[string]string) DigestRound {
	var round DigestRound
	for _, id := range sh.Replicas {
		var d DigestSample
		if _, err := getJSON(r.cluster.hc, fmt.Sprintf("http://%s/v1/internal/shards/%d/digest", addr[id], sh.ID), &d); err == nil {
			round = append(round, d)
		}
	}
	return round
}

// stopProcesses ends supervision and kills every process.
func (r *run) stopProcesses() {
	r.superCancel()
	r.cluster.stop()
}

// check stops the processes, reads what they left and runs the checkers.
func (r *run) check() error {
	r.stopProcesses()
	rep := r.report
	if r.disk != nil {
		rep.DiskUsedBytes, _ = r.disk.usage()
	}
	rep.Exits = r.cluster.exits()
	faults := r.nem.recorded()
	rep.Faults = map[string]int{}
	for _, f := range faults {
		rep.Faults[f.Kind]++
	}

	fires, bad, err := readSink(r.sink)
	if err != nil {
		return err
	}
	rep.SinkLines, rep.SinkMalformed = len(fires)+len(bad), bad
	var leaderships []Leadership
	for _, s := range r.cluster.servers {
		ls, err := readLeaderships(s.proc.logPath, s.id)
		if err != nil {
			return err
		}
		leaderships = append(leaderships, ls...)
	}
	execs := r.execs.all()
	rep.ExecsSeen, rep.ExecPollFailures = len(execs), r.execs.fails

	ops := r.rec.all()
	rep.Ops = len(ops)
	rep.OpsByOutcome = map[string]int{}
	for _, op := range ops {
		rep.OpsByOutcome[string(op.Outcome)]++
	}
	r.cfg.Logger.Info("checking", "ops", len(ops), "sink_lines", rep.SinkLines, "executions", len(execs))
	rep.Linearizable = CheckLinearizable(ops, DefaultCheckTimeout)
	rep.FinalState = CheckFinalState(ops, r.finalReads)
	windowEnd := rep.FaultPhase[1]
	rep.Slots = CheckSlots(SlotInput{Jobs: r.jobs, Margin: r.cfg.SlotMargin, WindowEnd: windowEnd, Fires: fires, Execs: execs, Faults: faults})
	rep.Leaders = CheckLeaders(fires, leaderships)
	rep.Digests = CheckDigests(r.digests, replicas)
	rep.Lateness, rep.LatenessByFault = MeasureLateness(fires, faults, lastCreated(r.jobs).Add(r.cfg.SlotMargin), windowEnd)
	rep.Wall = time.Since(rep.Started).Round(time.Second).String()
	rep.collect()

	return r.writeArtifacts(ops, faults, execs, leaderships)
}

func lastCreated(jobs []FiringJob) time.Time {
	var t time.Time
	for _, j := range jobs {
		if t.IsZero() || j.Created.After(t) {
			t = j.Created // the last creation: every job is checked from then on
		}
	}
	return t
}

// writeArtifacts stores what a replay or an investigation needs.
func (r *run) writeArtifacts(ops []Op, faults []Fault, execs []api.Execution, leaderships []Leadership) error {
	var errs []error
	errs = append(errs, writeJSONLines(filepath.Join(r.art, "history.jsonl"), ops))
	errs = append(errs, writeJSON(filepath.Join(r.art, "faults.json"), faults))
	errs = append(errs, writeJSON(filepath.Join(r.art, "executions.json"), execs))
	errs = append(errs, writeJSON(filepath.Join(r.art, "leaderships.json"), leaderships))
	errs = append(errs, writeJSON(filepath.Join(r.art, "digests.json"), r.digests))
	errs = append(errs, writeJSON(filepath.Join(r.art, "final_reads.json"), r.finalReads))
	errs = append(errs, writeJSON(filepath.Join(r.art, "firing_jobs.json"), r.jobs))
	if r.report.Linearizable.Verdict != "Ok" {
		errs = append(errs, r.report.Linearizable.WriteVisualization(filepath.Join(r.art, "linearizability.html")))
	}
	errs = append(errs, r.report.write(r.art))
	errs = append(errs, os.WriteFile(filepath.Join(r.art, "summary.txt"), []byte(r.report.Summary()), 0o644))
	return errors.Join(errs...)
}

func writeJSONLines[T any](path string, items []T) error {
	var b strings.Builder
	for _, it := range items {
		line, err := jsonLine(it)
		if err != nil {
			return err
		}
		b.WriteString(line)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cleanup kills the processes, removes the firewall rules and unmounts
// the tmpfs; after a passing run it also removes the servers' data.
func (r *run) cleanup() {
	r.stopProcesses()
	if r.fw != nil {
		r.fw.teardown()
	}
	if r.disk != nil {
		if err := r.disk.unmount(); err != nil {
			r.cfg.Logger.Error("unmount tmpfs", "error", err)
		}
	}
	if r.report.Passed {
		_ = os.RemoveAll(r.work)
	}
}

func jsonLine(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode line: %w", err)
	}
	return string(b) + "\n", nil
}
