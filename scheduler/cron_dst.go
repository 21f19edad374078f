package scheduler

import (
	"math"
	"time"
)

// swarm's cron DST policy (docs/triggers.md, "Daylight saving time"):
//
//  1. An expression matches wall-clock readings in the trigger's zone.
//  2. A matching reading that does not exist (spring-forward gap) fires at
//     the instant given by reading it with the UTC offset in force just
//     before the gap (RFC 5545 3.3.5): 02:30 in New York on the day clocks
//     jump from 02:00 to 03:00 fires at 03:30 EDT. An instant that is
//     reached both that way and as a regular match fires once.
//  3. A matching reading that occurs twice (fall-back overlap) fires at its
//     first occurrence only, unless the hours field matches all 24 hours:
//     then it fires at both, so "every 15 minutes" keeps its beat.
//
// The zone's history is a sequence of spans of constant UTC offset. Within
// a span the wall clock is a plain shift of UTC, so the next fire in a span
// is the next matching wall reading shifted back, plus the gap readings
// that the transition at the span's start skipped.

// zoneSpan is the span of constant UTC offset containing an instant.
type zoneSpan struct {
	off     int64 // offset in the span, seconds east of UTC
	prevOff int64 // offset just before the span starts
	start   int64 // first Unix second of the span; MinInt64 if unbounded
	end     int64 // first Unix second after the span; MaxInt64 if unbounded
}

func spanAt(loc *zone, u int64) zoneSpan {
	if loc.table == nil {
		return zoneSpan{start: math.MinInt64, end: math.MaxInt64}
	}
	if sp, ok := loc.table.span(u); ok {
		return sp
	}
	t := time.Unix(u, 0).In(loc.loc)
	_, off := t.Zone()
	sp := zoneSpan{off: int64(off), prevOff: int64(off), start: math.MinInt64, end: math.MaxInt64}
	zs, ze := t.ZoneBounds()
	if !zs.IsZero() {
		sp.start = zs.Unix()
		_, p := zs.Add(-time.Second).Zone()
		sp.prevOff = int64(p)
	}
	if !ze.IsZero() {
		sp.end = ze.Unix()
	}
	if sp.end <= u {
		// Go 1.26 reports, for the rule-based years after a zone's last
		// listed transition, a span that ends at Dec 31 00:00 of a leap
		// year, before the instant asked about. The offset is right; the
		// span really runs into the next year.
		sp.end = u + 1
		next := time.Unix(u+2*secondsPerDay, 0).In(loc.loc)
		if _, o := next.Zone(); int64(o) == sp.off {
			if _, ne := next.ZoneBounds(); !ne.IsZero() && ne.Unix() > u {
				sp.end = ne.Unix()
			} else if ne.IsZero() {
				sp.end = math.MaxInt64
			}
		}
	}
	return sp
}

// lastCronInstant bounds every search: no fire exists after the end of
// MaxCronYear in any zone.
var lastCronInstant = wallSeconds(MaxCronYear+1, 1, 2, 0, 0, 0)

// nextFire returns the first fire instant (Unix seconds) at or after from
// under the DST policy above, or false when there is none.
func (c *cronExpr) nextFire(loc *zone, from int64) (int64, bool) {
	s := from
	for s <= lastCronInstant {
		sp := spanAt(loc, s)
		best, found := int64(math.MaxInt64), false

		// Regular readings of this span. At a fall-back the span starts
		// with readings that already occurred in the previous span.
		wFrom := s + sp.off
		if sp.prevOff > sp.off && !c.allHours && wFrom < sp.start+sp.prevOff {
			wFrom = sp.start + sp.prevOff
		}
		w, ok := c.nextWall(wFrom)
		if ok && w-sp.off < sp.end {
			best, found = w-sp.off, true
		}
		if !ok {
			// Nothing matches from here on; only readings repeated by a
			// later fall-back could still fire, and those are at most a
			// day or so behind.
			if _, any := c.nextWall(wFrom - 2*secondsPerDay); !any {
				return 0, false
			}
		}

		// Readings skipped by a spring-forward at the span's start fire at
		// their reading under the previous offset: instants in
		// [start, start+gap).
		if sp.prevOff < sp.off && s < sp.start+(sp.off-sp.prevOff) {
			gapEnd := sp.start + sp.off
			if gw, gok := c.nextWall(s + sp.prevOff); gok && gw < gapEnd {
				if u := gw - sp.prevOff; u < best {
					best, found = u, true
				}
			}
		}

		if found {
			return best, true
		}
		if sp.end == math.MaxInt64 {
			return 0, false
		}
		// Skip the spans before the next matching reading w. A fire before
		// w - off - 2 days would need a reading before wFrom, which can
		// only fire again through an offset change within a day or so of
		// s: there is none when this span runs 2 more days.
		next := sp.end
		if ok && sp.end-s >= 2*secondsPerDay {
			next = max(next, w-sp.off-2*secondsPerDay)
		}
		s = next
	}
	return 0, false
}

// after returns Quartz's CronExpression.getTimeAfter(t) under swarm's DST
// policy: the first fire at a whole second strictly after t.
func (c *cronExpr) after(loc *zone, t time.Time) (time.Time, bool) {
	u, ok := c.nextFire(loc, t.Unix()+1)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(u, 0).UTC(), true
}

// atOrAfter returns the first fire at or after t.
func (c *cronExpr) atOrAfter(loc *zone, t time.Time) (time.Time, bool) {
	from := t.Unix()
	if t.Nanosecond() != 0 {
		from++
	}
	u, ok := c.nextFire(loc, from)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(u, 0).UTC(), true
}

// matchesInstant reports whether the wall-clock reading of t (truncated to
// the second) in loc matches the expression. Cron calendars use it.
func (c *cronExpr) matchesInstant(loc *zone, t time.Time) bool {
	u := t.Unix()
	return c.matchesWall(u + spanAt(loc, u).off)
}
