package bench

import (
	"fmt"
	"os"
	"sort"
	"time"
)

// finish turns the recorder's tally and the samples into the report.
func (r *runner) finish() {
	t := r.rec.Tally()
	rep := r.rep
	rep.Workers = r.pool.Stats()
	rep.Window = WindowReport{
		Start: r.from.UTC(), Expected: t.Expected, Received: t.Received, Lost: t.Lost, Duplicates: t.Duplicates, DupOtherExec: t.DupOther,
		Retries: t.Retries, OffSchedule: t.OffSchedule, Early: t.Early, BeforeWindow: t.Before, AfterWindow: t.After,
		Unknown: t.Unknown, FiresPerSec: float64(t.Received) / r.cfg.Duration.Seconds(),
		ExpectedPerS: float64(t.Expected) / r.cfg.Duration.Seconds(), LatenessMS: quantiles(&t.Lateness),
		ReleaseMS: quantiles(&t.Release), RemoteMS: quantiles(&t.Transit[0]), LocalMS: quantiles(&t.Transit[1]),
		RemoteCount: t.Transit[0].Count(), LocalCount: t.Transit[1].Count(),
		FiresByLeader: t.Leaders,
	}
	if !r.cfg.LoadOnly {
		rep.Series = r.series(t)
	}
	r.resources()
	r.readEvents(rep.Series)
	rep.Targets = r.targets()
}

// series is the per-second view of the window.
func (r *runner) series(t Tally) []SecondPoint {
	out := make([]SecondPoint, len(t.Seconds))
	for i, s := range t.Seconds {
		out[i] = SecondPoint{T: i, Expected: s.Expected, Received: s.Received, Lost: s.Lost, Dups: s.Duplicates,
			P50MS: ms(s.P50), P99MS: ms(s.P99), MaxMS: ms(s.Max)}
		if i < len(t.Receipts) {
			out[i].Receipts = t.Receipts[i]
		}
	}
	ids := append(r.cluster.IDs(), selfID)
	for k, id := range ids {
		at, cores := r.samp.cpuSeries(id)
		for j := range at {
			sec := int(at[j].Sub(r.from) / time.Second)
			if sec < 0 || sec >= len(out) {
				continue
			}
			if out[sec].CPU == nil {
				out[sec].CPU = make([]float64, len(ids))
			}
			out[sec].CPU[k] = round(cores[j], 3)
		}
	}
	return out
}

// resources fills in each process's CPU, memory and disk, and the per-job
// and per-core figures.
func (r *runner) resources() {
	rep := r.rep
	var cores, anonGrowKiB float64
	var disk int64
	for _, id := range r.cluster.IDs() {
		sr := r.process(id)
		if d, err := diskBytes(r.cluster.DataDirs()[id]); err == nil {
			sr.DiskMiB = mib(d / 1024)
			disk += d
		}
		if e, ok := r.empty[id]; ok {
			sr.EmptyRssAnonMiB = mib(e.RssAnonKiB)
			if l, ok := r.loaded[id]; ok {
				sr.LoadedRssAnon = mib(l.RssAnonKiB)
				anonGrowKiB += float64(l.RssAnonKiB - e.RssAnonKiB)
			}
		}
		cores += sr.CPUCores
		rep.Servers = append(rep.Servers, sr)
	}
	rep.Bench = r.process(selfID)
	rep.Machine.BusyCores = round(r.samp.cpuCores(machineID, r.from, r.to), 3)
	rep.Machine.OtherCores = round(max(rep.Machine.BusyCores-cores-rep.Bench.CPUCores, 0), 3)
	if cores > 0 {
		rep.FiresPerCore = rep.Window.FiresPerSec / cores
	}
	jobs := float64(r.cfg.Jobs)
	if r.empty != nil {
		rep.RssAnonPerJobPerReplicaBytes = anonGrowKiB * 1024 / (jobs * float64(min(r.cfg.Replicas, r.cfg.Servers)))
	}
	rep.DiskBytesPerJob = float64(disk) / jobs
}

func (r *runner) process(id string) ServerReport {
	sr := ServerReport{ID: id, CPUCores: round(r.samp.cpuCores(id, r.from, r.to), 3)}
	if p, ok := r.samp.latest(id, r.to); ok {
		sr.PID, sr.RSSMiB, sr.RssAnonMiB = p.PID, mib(p.RSSKiB), mib(p.RssAnonKiB)
	}
	if id == selfID {
		sr.PID = os.Getpid()
	}
	_, peak := r.samp.peak(id, r.from, r.to)
	sr.PeakRssAnonMiB = mib(peak)
	return sr
}

func mib(kib int64) float64 { return round(float64(kib)/1024, 1) }

// readEvents reads the series around the kill and the restarts.
func (r *runner) readEvents(series []SecondPoint) {
	if k := r.rep.Kill; k != nil {
		sec := int(k.AtSeconds)
		k.RecoveredSeconds, k.Recovered = r.recovery(series, sec, ms(r.cfg.P99Target))
		k.LostAfter, k.DuplicatesAfter = lossAfter(series, sec, 60)
		k.BaselineP99MS = baselineP99(series, sec)
		if k.BaselineP99MS > 0 {
			k.BackToBaselineSeconds, k.BackToBaseline = r.recovery(series, sec+1, 1.5*k.BaselineP99MS)
			k.BackToBaselineSeconds++
		}
	}
	if rr := r.rep.Restart; rr != nil {
		sec := int(rr.AtSeconds)
		rr.RecoveredSeconds, rr.Recovered = r.recovery(series, sec, ms(r.cfg.P99Target))
		rr.LostAfter, rr.DuplicatesAfter = lossAfter(series, sec, 60)
		if got := r.rec.Got(r.restartWatch); !got.IsZero() {
			rr.FirstFireSeconds = round(got.Sub(r.restartStart).Seconds(), 2)
		}
	}
	if c := r.rep.ColdStart; c != nil {
		if got := r.rec.Got(r.coldWatch); !got.IsZero() {
			c.FirstFireSeconds = round(got.Sub(r.coldStart).Seconds(), 2)
		}
	}
}

// baselineP99 is the median of the per-second p99 lateness over the 30 s
// before second at: how late fires were before an event.
func baselineP99(series []SecondPoint, at int) float64 {
	var p99s []float64
	for s := max(at-30, 0); s < min(at, len(series)); s++ {
		if series[s].Received > 0 {
			p99s = append(p99s, series[s].P99MS)
		}
	}
	if len(p99s) == 0 {
		return 0
	}
	sort.Float64s(p99s)
	return p99s[len(p99s)/2]
}

// recovery returns how many seconds after second from the p99 lateness
// is at most target with nothing lost, for DefaultRecoverySpan seconds in
// a row.
func (r *runner) recovery(series []SecondPoint, from int, target float64) (float64, bool) {
	span := int(DefaultRecoverySpan / time.Second)
	for s := max(from, 0); s+span <= len(series); s++ {
		ok := true
		for _, p := range series[s : s+span] {
			if p.Expected > 0 && (p.P99MS > target || p.Lost > 0) {
				ok = false
				break
			}
		}
		if ok {
			return float64(s - from), true
		}
	}
	return 0, false
}

func lossAfter(series []SecondPoint, from, n int) (lost, dups int) {
	for s := max(from, 0); s < min(from+n, len(series)); s++ {
		lost += series[s].Lost
		dups += series[s].Dups
	}
	return lost, dups
}

// targets checks the scale issue's targets that this run can speak to.
func (r *runner) targets() []TargetCheck {
	rep := r.rep
	w := rep.Window
	var out []TargetCheck
	add := func(name string, met bool, format string, args ...any) {
		out = append(out, TargetCheck{Name: name, Met: met, Measured: fmt.Sprintf(format, args...)})
	}
	p50, p99 := ms(r.cfg.P50Target), ms(r.cfg.P99Target)
	switch {
	case r.cfg.LoadOnly:
	case r.cfg.Herd:
		add(fmt.Sprintf("herd of %d jobs: all delivered", r.cfg.Jobs), w.Lost == 0 && w.Expected > 0, "%d of %d delivered", w.Received, w.Expected)
		add(fmt.Sprintf("herd p99 lateness <= %.0f ms", p99), w.Received > 0 && w.LatenessMS.P99 <= p99, "%.1f ms", w.LatenessMS.P99)
	default:
		got := w.Received > 0 // no fire at all meets no lateness target
		add(fmt.Sprintf("p50 lateness <= %.0f ms", p50), got && w.LatenessMS.P50 <= p50, "%.1f ms of %d fires", w.LatenessMS.P50, w.Received)
		add(fmt.Sprintf("p99 lateness <= %.0f ms", p99), got && w.LatenessMS.P99 <= p99, "%.1f ms of %d fires", w.LatenessMS.P99, w.Received)
	}
	if !r.cfg.LoadOnly {
		add("zero lost fires", w.Lost == 0, "%d lost of %d", w.Lost, w.Expected)
		add("zero duplicate fires", w.Duplicates == 0, "%d duplicates (%d retries)", w.Duplicates, w.Retries)
	}
	if w.ExpectedPerS >= 10000 {
		add("10,000 fires/s sustained", w.FiresPerSec >= 10000 && w.Lost == 0, "%.0f fires/s over %.0f s", w.FiresPerSec, r.cfg.Duration.Seconds())
	}
	if l := rep.Load; l != nil {
		add("bulk create >= 20,000 jobs/s", l.JobsPerSec >= 20000, "%.0f jobs/s (%d jobs)", l.JobsPerSec, l.Created)
	}
	if r.empty != nil {
		add("RssAnon <= 1 KiB per job per replica", rep.RssAnonPerJobPerReplicaBytes <= 1024, "%.0f B", rep.RssAnonPerJobPerReplicaBytes)
	}
	if k := rep.Kill; k != nil {
		add("leader kill: lateness back under target within 10 s", k.Recovered && k.RecoveredSeconds <= 10, "%s", recoveredText(k.Recovered, k.RecoveredSeconds))
		add("leader kill: no lost fire", k.LostAfter == 0, "%d lost, %d duplicates in the 60 s after", k.LostAfter, k.DuplicatesAfter)
		add("leader kill: lateness back to its level before the kill within 10 s", k.BackToBaseline && k.BackToBaselineSeconds <= 10,
			"%s (p99 before: %.0f ms)", recoveredText(k.BackToBaseline, k.BackToBaselineSeconds), k.BaselineP99MS)
	}
	if rr := rep.Restart; rr != nil {
		add("restart: back to firing in < 30 s", rr.FirstFireSeconds >= 0 && rr.FirstFireSeconds < 30, "first fire %s after start", secs(rr.FirstFireSeconds))
	}
	if c := rep.ColdStart; c != nil {
		add("cold start: back to firing in < 30 s", c.FirstFireSeconds >= 0 && c.FirstFireSeconds < 30, "first fire %s after start", secs(c.FirstFireSeconds))
	}
	return out
}

func recoveredText(ok bool, s float64) string {
	if !ok {
		return "not within the window"
	}
	return fmt.Sprintf("after %.0f s", s)
}
