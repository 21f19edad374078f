package chaos

import (
	"slices"
	"sort"
	"time"
)

// Lateness summarises (run wall time - scheduled instant) in milliseconds.
type Lateness struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// KindNone labels slots with no fault active at their scheduled instant.
const KindNone = "none"

// MeasureLateness measures the first run of every slot in the window,
// overall and by the fault kinds active at the slot's scheduled instant (a
// slot under two faults counts under both).
func MeasureLateness(fires []Fire, faults []Fault, from, to time.Time) (Lateness, map[string]Lateness) {
	first := map[slotKey]Fire{}
	for _, f := range fires {
		if f.ScheduledAt.Before(from) || f.ScheduledAt.After(to) {
			continue
		}
		k := slotKey{f.Job, f.ScheduledAt.UnixMilli()}
		if prev, ok := first[k]; !ok || f.RanAt.Before(prev.RanAt) {
			first[k] = f
		}
	}
	var all []float64
	byKind := map[string][]float64{}
	for _, f := range first {
		ms := float64(f.RanAt.Sub(f.ScheduledAt)) / float64(time.Millisecond)
		all = append(all, ms)
		kinds := activeKinds(faults, f.ScheduledAt)
		if len(kinds) == 0 {
			kinds = []string{KindNone}
		}
		for _, k := range kinds {
			byKind[k] = append(byKind[k], ms)
		}
	}
	out := map[string]Lateness{}
	for k, v := range byKind {
		out[k] = summarise(v)
	}
	return summarise(all), out
}

func activeKinds(faults []Fault, at time.Time) []string {
	seen := map[string]bool{}
	for _, f := range faults {
		if !at.Before(f.Start) && !at.After(f.End) {
			seen[f.Kind] = true
		}
	}
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

func summarise(ms []float64) Lateness {
	if len(ms) == 0 {
		return Lateness{}
	}
	s := slices.Clone(ms)
	sort.Float64s(s)
	return Lateness{Count: len(s), P50: quantile(s, 0.50), P99: quantile(s, 0.99), Max: s[len(s)-1]}
}

// quantile reads the q-quantile of sorted s (nearest rank).
func quantile(s []float64, q float64) float64 {
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
