package scheduler

import (
	"time"
	"unicode"
)

// Preview bounds.
const (
	DefaultPreviewCount = 10
	MaxPreviewCount     = 1000
)

// Preview lists the first count fire times of t from its start, as Quartz's
// TriggerUtils.computeFireTimes does, honouring cal (which may be nil).
// from is "now" for a trigger without a start_at. count is capped at
// MaxPreviewCount; a count below 1 gives nil.
func Preview(t Trigger, cal Calendar, from time.Time, count int) []time.Time {
	if t == nil || count < 1 {
		return nil
	}
	count = min(count, MaxPreviewCount)
	var out []time.Time
	for s := t.Initial(from, cal); !s.Done() && len(out) < count; s = t.Fired(s, cal) {
		out = append(out, s.Next)
	}
	return out
}

// FormatLocal formats t as a wall-clock time in loc for people:
// "Sun 2026-03-08 03:30:00 EDT", with milliseconds when t has them and the
// numeric offset when the zone has no alphabetic abbreviation
// ("Sun 2026-04-05 01:30:00 +10:30").
func FormatLocal(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	layout := "Mon 2006-01-02 15:04:05"
	if lt.Nanosecond() != 0 {
		layout += ".000"
	}
	name, _ := lt.Zone()
	if name != "" && isAlpha(name) {
		return lt.Format(layout + " MST")
	}
	return lt.Format(layout + " -07:00")
}

func isAlpha(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
