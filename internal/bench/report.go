package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run; it is written as JSON by --out.
type Report struct {
	Started  time.Time `json:"started"`
	Dir      string    `json:"dir"`
	Machine  Machine   `json:"machine"`
	Settings Settings  `json:"settings"`

	ClusterReadySeconds float64     `json:"cluster_ready_seconds"`
	ColdStart           *RestartRun `json:"cold_start,omitempty"`
	WorkersSeconds      float64     `json:"workers_connect_seconds"`
	Load                *LoadReport `json:"load,omitempty"`

	Window  WindowReport   `json:"window"`
	Servers []ServerReport `json:"servers"`
	Bench   ServerReport   `json:"bench"`
	Workers PoolStats      `json:"workers"`

	FiresPerCore                 float64 `json:"fires_per_core_second"`
	RssAnonPerJobPerReplicaBytes float64 `json:"rss_anon_per_job_per_replica_bytes"`
	DiskBytesPerJob              float64 `json:"disk_bytes_per_job"`

	Kill    *KillReport `json:"kill,omitempty"`
	Restart *RestartRun `json:"restart,omitempty"`

	Targets []TargetCheck `json:"targets"`
	Series  []SecondPoint `json:"series"`

	Marks    []Mark   `json:"marks,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
}

// Mark is an event of the window (a kill, a restart), drawn on the chart.
type Mark struct {
	At    float64 `json:"at_seconds"` // from the window start
	Label string  `json:"label"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`

	// BusyCores is the whole machine's CPU use over the window, and
	// OtherCores the part of it that was neither the servers nor the
	// bench: other work on the machine, which the figures then share it
	// with.
	BusyCores  float64 `json:"busy_cores"`
	OtherCores float64 `json:"other_cores"`
}

// Settings are the run's effective settings.
type Settings struct {
	Servers        int     `json:"servers"`
	Shards         int     `json:"shards"`
	Replicas       int     `json:"replicas"`
	Jobs           int     `json:"jobs"`
	PeriodSeconds  float64 `json:"period_seconds"`
	Herd           bool    `json:"herd"`
	ExpectedPerSec float64 `json:"expected_fires_per_second"`
	Workers        int     `json:"workers"`
	WindowSeconds  float64 `json:"window_seconds"`
	Reuse          bool    `json:"reuse,omitempty"`
	P50TargetMS    float64 `json:"p50_target_ms"`
	P99TargetMS    float64 `json:"p99_target_ms"`
}

// WindowReport summarises the fires of the measured window.
type WindowReport struct {
	Start         time.Time      `json:"start"`
	Expected      int            `json:"expected"`
	Received      int            `json:"received"`
	Lost          int            `json:"lost"`
	Duplicates    int            `json:"duplicates"`
	DupOtherExec  int            `json:"duplicates_other_exec_id"`
	Retries       int            `json:"retries"`
	OffSchedule   int            `json:"off_schedule"`
	Early         int            `json:"early"`
	BeforeWindow  int            `json:"before_window"`
	AfterWindow   int            `json:"after_window"`
	Unknown       int            `json:"unknown_jobs"`
	FiresPerSec   float64        `json:"fires_per_second"`
	ExpectedPerS  float64        `json:"expected_per_second"`
	LatenessMS    Quantiles      `json:"lateness_ms"`
	ReleaseMS     Quantiles      `json:"release_ms"`        // fired_at - scheduled_at: the leader's part
	RemoteMS      Quantiles      `json:"transit_remote_ms"` // receipt - fired_at, worker on another server than the leader
	LocalMS       Quantiles      `json:"transit_local_ms"`  // receipt - fired_at, worker on the leader's server
	RemoteCount   uint64         `json:"transit_remote_count"`
	LocalCount    uint64         `json:"transit_local_count"`
	FiresByLeader map[string]int `json:"fires_by_leader"`
}

// Quantiles of a distribution, in milliseconds.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func quantiles(h *Histogram) Quantiles {
	ms := func(v int64) float64 { return float64(v) / 1e3 }
	return Quantiles{P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max())}
}

// ServerReport is one process's resource use.
type ServerReport struct {
	ID              string  `json:"id"`
	PID             int     `json:"pid"`
	CPUCores        float64 `json:"cpu_cores"` // mean over the window
	RSSMiB          float64 `json:"rss_mib"`
	RssAnonMiB      float64 `json:"rss_anon_mib"`
	PeakRssAnonMiB  float64 `json:"peak_rss_anon_mib"`
	EmptyRssAnonMiB float64 `json:"empty_rss_anon_mib,omitempty"`
	LoadedRssAnon   float64 `json:"loaded_rss_anon_mib,omitempty"`
	DiskMiB         float64 `json:"disk_mib,omitempty"`
}

// KillReport is what happened around a killed shard leader.
type KillReport struct {
	Server           string  `json:"server"`
	ShardsLed        int     `json:"shards_led"`
	AtSeconds        float64 `json:"at_seconds"` // from the window start
	RecoveredSeconds float64 `json:"recovered_after_seconds"`
	Recovered        bool    `json:"recovered"`
	LostAfter        int     `json:"lost_in_60s_after"`
	DuplicatesAfter  int     `json:"duplicates_in_60s_after"`
	RestartedAt      float64 `json:"restarted_at_seconds,omitempty"`

	// BaselineP99MS is the median per-second p99 of the 30 s before the
	// kill; BackToBaselineSeconds how long after the kill it was within
	// 1.5x of that again for DefaultRecoverySpan.
	BaselineP99MS         float64 `json:"baseline_p99_ms"`
	BackToBaselineSeconds float64 `json:"back_to_baseline_after_seconds"`
	BackToBaseline        bool    `json:"back_to_baseline"`
}

// RestartRun times a restart (or a cold start with --reuse).
type RestartRun struct {
	Mode             string   `json:"mode"`
	Servers          []string `json:"servers"`
	AtSeconds        float64  `json:"at_seconds,omitempty"`
	StopSeconds      float64  `json:"stop_seconds,omitempty"`
	ServingSeconds   float64  `json:"serving_after_seconds"`
	ReadySeconds     float64  `json:"ready_after_seconds"`
	FirstFireSeconds float64  `json:"first_fire_after_seconds"` // -1: none seen
	RecoveredSeconds float64  `json:"lateness_recovered_after_seconds"`
	Recovered        bool     `json:"recovered"`
	LostAfter        int      `json:"lost_in_60s_after"`
	DuplicatesAfter  int      `json:"duplicates_in_60s_after"`
}

// TargetCheck is one target of the scale issue.
type TargetCheck struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// SecondPoint is one second of the window, by scheduled second.
type SecondPoint struct {
	T        int       `json:"t"`
	Expected int       `json:"expected"`
	Received int       `json:"received"`
	Lost     int       `json:"lost"`
	Dups     int       `json:"duplicates"`
	P50MS    float64   `json:"p50_ms"`
	P99MS    float64   `json:"p99_ms"`
	MaxMS    float64   `json:"max_ms"`
	Receipts int       `json:"receipts"`            // by receipt second
	CPU      []float64 `json:"cpu_cores,omitempty"` // per server, in Servers order, then the bench
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	s := r.Settings
	shape := "spread"
	if s.Herd {
		shape = "herd"
	}
	fmt.Fprintf(tw, "cluster\t%d servers, %s shards, %d replicas; %d workers\n", s.Servers, orDefault(s.Shards), s.Replicas, s.Workers)
	fmt.Fprintf(tw, "jobs\t%d, each every %s (%s), %.1f fires/s expected\n", s.Jobs, time.Duration(s.PeriodSeconds*float64(time.Second)), shape, s.ExpectedPerSec)
	fmt.Fprintf(tw, "machine\t%d CPUs, %.2f cores busy over the window, %.2f of them other processes than this run's\n",
		r.Machine.CPUs, r.Machine.BusyCores, r.Machine.OtherCores)
	fmt.Fprintf(tw, "cluster ready\t%.1f s\n", r.ClusterReadySeconds)
	if c := r.ColdStart; c != nil {
		fmt.Fprintf(tw, "cold start\tserving %.1f s, ready %.1f s, first fire %s\n", c.ServingSeconds, c.ReadySeconds, secs(c.FirstFireSeconds))
	}
	if l := r.Load; l != nil {
		fmt.Fprintf(tw, "load\t%d jobs in %.1f s = %.0f jobs/s; batch p50 %.0f ms, p99 %.0f ms; %d sent again, %d failed\n",
			l.Created, l.Seconds, l.JobsPerSec, l.BatchP50MS, l.BatchP99MS, l.Retried, l.Failed)
		for _, e := range l.FirstErrors {
			fmt.Fprintf(tw, "\t  %s\n", e)
		}
	}
	if len(r.Series) > 0 {
		r.writeWindow(tw)
	}
	fmt.Fprintf(tw, "memory\t%.0f B RssAnon per job per replica above the empty cluster\n", r.RssAnonPerJobPerReplicaBytes)
	fmt.Fprintf(tw, "disk\t%.0f B per job (all replicas)\n", r.DiskBytesPerJob)
	r.writeEvents(tw)
	tw.Flush()
	r.writeProcesses(w)
	fmt.Fprintln(w)
	for _, t := range r.Targets {
		mark := "MISS"
		if t.Met {
			mark = "met "
		}
		fmt.Fprintf(w, "%s  %s: %s\n", mark, t.Name, t.Measured)
	}
	return nil
}

func (r *Report) writeWindow(tw io.Writer) {
	s := r.Settings
	wr := r.Window
	fmt.Fprintf(tw, "window\t%.0f s from %s: expected %d, received %d, lost %d, duplicates %d (%d under another exec id), retries %d, off-schedule %d\n",
		s.WindowSeconds, wr.Start.Format(time.TimeOnly), wr.Expected, wr.Received, wr.Lost, wr.Duplicates, wr.DupOtherExec, wr.Retries, wr.OffSchedule)
	fmt.Fprintf(tw, "fire rate\t%.1f/s received (%.1f/s expected)\n", wr.FiresPerSec, wr.ExpectedPerS)
	q := wr.LatenessMS
	fmt.Fprintf(tw, "lateness\tp50 %.1f ms, p90 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms\n", q.P50, q.P90, q.P99, q.P999, q.Max)
	q = wr.ReleaseMS
	fmt.Fprintf(tw, "  of which release\tp50 %.1f ms, p99 %.1f ms, max %.1f ms (fired_at - scheduled_at, at the leader)\n", q.P50, q.P99, q.Max)
	q = wr.LocalMS
	fmt.Fprintf(tw, "  delivery, local\tp50 %.1f ms, p99 %.1f ms, max %.1f ms (receipt - fired_at; %d fires from the leader's own server)\n", q.P50, q.P99, q.Max, wr.LocalCount)
	q = wr.RemoteMS
	fmt.Fprintf(tw, "  delivery, remote\tp50 %.1f ms, p99 %.1f ms, max %.1f ms (receipt - fired_at; %d fires through another server)\n", q.P50, q.P99, q.Max, wr.RemoteCount)
	fmt.Fprintf(tw, "fires per core\t%.0f per CPU-second of the servers\n", r.FiresPerCore)
}

func (r *Report) writeEvents(tw io.Writer) {
	if k := r.Kill; k != nil {
		rec := "not within the window"
		if k.Recovered {
			rec = fmt.Sprintf("%.0f s", k.RecoveredSeconds)
		}
		fmt.Fprintf(tw, "leader kill\t%s (led %d shards) at +%.1f s; lateness back under target after %s; lost %d, duplicates %d in the 60 s after\n",
			k.Server, k.ShardsLed, k.AtSeconds, rec, k.LostAfter, k.DuplicatesAfter)
	}
	if rr := r.Restart; rr != nil {
		fmt.Fprintf(tw, "restart %s\t%s at +%.1f s: stopped in %.1f s; serving %.1f s, ready %.1f s, first fire %s after start; lost %d, duplicates %d in the 60 s after\n",
			rr.Mode, strings.Join(rr.Servers, ","), rr.AtSeconds, rr.StopSeconds, rr.ServingSeconds, rr.ReadySeconds, secs(rr.FirstFireSeconds), rr.LostAfter, rr.DuplicatesAfter)
	}
}

func (r *Report) writeProcesses(w io.Writer) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "process\tpid\tCPU cores\tRSS MiB\tRssAnon MiB\tpeak RssAnon\tempty RssAnon\tdisk MiB\t")
	for _, sv := range append(slices.Clone(r.Servers), r.Bench) {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\n", sv.ID, sv.PID, sv.CPUCores, sv.RSSMiB, sv.RssAnonMiB,
			sv.PeakRssAnonMiB, sv.EmptyRssAnonMiB, sv.DiskMiB)
	}
	tw.Flush()
}

func orDefault(n int) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprint(n)
}

func secs(v float64) string {
	if v < 0 {
		return "none seen"
	}
	return fmt.Sprintf("%.1f s", v)
}
