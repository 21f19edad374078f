package scheduler

import (
	"math"
	"sort"
	"sync"
	"time"
)

// zoneTable lists the UTC offset changes of a location between 1969 and
// 2201, the years any trigger can fire in, so that finding the offset span
// of an instant is a binary search. Go's own lookup re-parses the zone's
// POSIX rule on every call for the years after the last listed transition
// (about 2037), and splits spans at year boundaries there.
type zoneTable struct {
	first, last int64   // the instants the table covers
	starts      []int64 // starts[i]: the instant span i begins (starts[0] = first)
	offs        []int64 // offs[i]: the offset of span i, seconds east of UTC
}

var (
	zoneTables   sync.Map // *time.Location -> *zoneTable
	zoneTableMin = wallSeconds(1969, 1, 1, 0, 0, 0)
	zoneTableMax = wallSeconds(2202, 1, 1, 0, 0, 0)
)

func tableFor(loc *time.Location) *zoneTable {
	if z, ok := zoneTables.Load(loc); ok {
		return z.(*zoneTable)
	}
	z, _ := zoneTables.LoadOrStore(loc, buildZoneTable(loc))
	return z.(*zoneTable)
}

func buildZoneTable(loc *time.Location) *zoneTable {
	z := &zoneTable{first: zoneTableMin, last: zoneTableMax}
	for u := zoneTableMin; u < zoneTableMax; {
		t := time.Unix(u, 0).In(loc)
		_, off := t.Zone()
		if n := len(z.offs); n == 0 || z.offs[n-1] != int64(off) {
			z.starts = append(z.starts, u)
			z.offs = append(z.offs, int64(off))
		}
		_, end := t.ZoneBounds()
		switch {
		case end.IsZero():
			u = zoneTableMax
		case end.Unix() > u:
			u = end.Unix()
		default:
			// Go 1.26 reports, in the rule-based years after a zone's last
			// listed transition, a span ending at Dec 31 00:00 of leap
			// years, before u; step through that day an hour at a time.
			u += 3600
		}
	}
	return z
}

// span returns the span of u, or false outside the table.
func (z *zoneTable) span(u int64) (zoneSpan, bool) {
	if u < z.first || u >= z.last {
		return zoneSpan{}, false
	}
	i := sort.Search(len(z.starts), func(i int) bool { return z.starts[i] > u }) - 1
	sp := zoneSpan{off: z.offs[i], prevOff: z.offs[i], start: math.MinInt64, end: math.MaxInt64}
	if i > 0 {
		sp.start, sp.prevOff = z.starts[i], z.offs[i-1]
	}
	if i+1 < len(z.starts) {
		sp.end = z.starts[i+1]
	}
	return sp, true
}

// zone is a location with its offset table, resolved once when a trigger
// or calendar is compiled. UTC has no table.
type zone struct {
	loc   *time.Location
	table *zoneTable
}

var utcZone = &zone{loc: time.UTC}

func zoneOf(loc *time.Location) *zone {
	if loc == time.UTC || loc == nil {
		return utcZone
	}
	return &zone{loc: loc, table: tableFor(loc)}
}
