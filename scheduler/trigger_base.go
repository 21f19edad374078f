package scheduler

import (
	"slices"
	"time"
)

// Misfire instruction names, as they appear in the "misfire" field. Each
// maps to the Quartz instruction of the same name.
const (
	// MisfireSmartPolicy is Quartz's MISFIRE_INSTRUCTION_SMART_POLICY:
	// fire_once_now for cron, daily_time_interval and calendar_interval;
	// for simple triggers it depends on the repeat count (see
	// docs/triggers.md). An empty "misfire" means this.
	MisfireSmartPolicy = "smart_policy"
	// MisfireIgnore replays every missed fire, late, as fast as possible.
	MisfireIgnore = "ignore_misfire_policy"

	// Cron, daily_time_interval and calendar_interval triggers.
	MisfireFireOnceNow = "fire_once_now"
	MisfireDoNothing   = "do_nothing"

	// Simple triggers.
	MisfireFireNow                               = "fire_now"
	MisfireRescheduleNowWithExistingRepeatCount  = "reschedule_now_with_existing_repeat_count"
	MisfireRescheduleNowWithRemainingRepeatCount = "reschedule_now_with_remaining_repeat_count"
	MisfireRescheduleNextWithRemainingCount      = "reschedule_next_with_remaining_count"
	MisfireRescheduleNextWithExistingCount       = "reschedule_next_with_existing_count"
)

var (
	intervalMisfires = []string{MisfireFireOnceNow, MisfireDoNothing, MisfireIgnore, MisfireSmartPolicy}
	simpleMisfires   = []string{
		MisfireFireNow, MisfireRescheduleNowWithExistingRepeatCount, MisfireRescheduleNowWithRemainingRepeatCount,
		MisfireRescheduleNextWithRemainingCount, MisfireRescheduleNextWithExistingCount, MisfireIgnore, MisfireSmartPolicy,
	}
)

// MisfireInstructions lists the misfire instruction names valid for kind.
func MisfireInstructions(kind string) []string {
	if kind == KindSimple {
		return slices.Clone(simpleMisfires)
	}
	return slices.Clone(intervalMisfires)
}

// maxCalendarSkips bounds the search for a fire time a calendar does not
// exclude, beyond the year limit that also bounds it, so that a calendar
// that excludes everything cannot stall a shard leader.
const maxCalendarSkips = 200000

// rule is the fire-time arithmetic of one trigger kind, the counterpart of
// the getFireTimeAfter and computeFirstFireTime methods of the Quartz
// trigger classes. It reads the effective start, repeat count and fire
// count from the state.
type rule interface {
	// first is computeFirstFireTime without the calendar.
	first(st State) (time.Time, bool)
	// after is getFireTimeAfter: the next fire after t.
	after(t time.Time, st State) (time.Time, bool)
	// atOrAfter is the first fire at or after t. It lets a calendar skip
	// jump over a whole excluded stretch instead of walking it fire by
	// fire as Quartz does; both find the same time.
	atOrAfter(t time.Time, st State) (time.Time, bool)
}

// trigger implements Trigger for every kind.
type trigger struct {
	spec        Spec
	loc         *time.Location
	rule        rule
	repeatCount int64 // effective repeat count for simple and daily kinds
}

func (tr *trigger) Spec() Spec               { return cloneSpec(tr.spec) }
func (tr *trigger) Location() *time.Location { return tr.loc }
func (tr *trigger) IgnoresMisfires() bool    { return tr.spec.Misfire == MisfireIgnore }

func (tr *trigger) Initial(now time.Time, cal Calendar) State {
	st := State{Start: now, RepeatCount: tr.repeatCount}
	if tr.spec.StartAt != nil {
		st.Start = *tr.spec.StartAt
	}
	// Quartz keeps times as java.util.Date: milliseconds.
	st.Start = st.Start.Truncate(time.Millisecond).UTC()
	t, ok := tr.rule.first(st)
	st.Next = tr.included(t, ok, st, cal)
	return st
}

func (tr *trigger) Fired(s State, cal Calendar) State {
	if s.Done() {
		return s
	}
	ns := s
	ns.Times++
	ns.Prev = s.Next
	t, ok := tr.rule.after(s.Next, ns)
	ns.Next = tr.included(t, ok, ns, cal)
	return ns
}

func (tr *trigger) Misfired(s State, now time.Time, cal Calendar) State {
	if s.Done() || tr.IgnoresMisfires() {
		return s
	}
	if tr.spec.Kind == KindSimple {
		return tr.simpleMisfired(s, now, cal)
	}
	switch tr.spec.Misfire {
	case MisfireDoNothing:
		t, ok := tr.rule.after(now, s)
		s.Next = tr.included(t, ok, s, cal)
	default: // fire_once_now and the smart policy
		s.Next = now
	}
	return s
}

// included returns t, or the first later fire time that cal does not
// exclude; the zero time when there is none (Quartz's loop over
// calendar.isTimeIncluded, with its give-up year).
func (tr *trigger) included(t time.Time, ok bool, st State, cal Calendar) time.Time {
	for i := 0; ok && cal != nil && !cal.Included(t); i++ {
		if i >= maxCalendarSkips || t.Year() > MaxCronYear {
			return time.Time{}
		}
		ni := cal.NextIncluded(t)
		if ni.IsZero() {
			return time.Time{}
		}
		if !ni.After(t) {
			ni = t.Add(time.Nanosecond)
		}
		t, ok = tr.rule.atOrAfter(ni, st)
	}
	if !ok {
		return time.Time{}
	}
	return t
}

func cloneSpec(s Spec) Spec {
	if s.StartAt != nil {
		t := *s.StartAt
		s.StartAt = &t
	}
	if s.EndAt != nil {
		t := *s.EndAt
		s.EndAt = &t
	}
	if s.RepeatCount != nil {
		n := *s.RepeatCount
		s.RepeatCount = &n
	}
	s.DaysOfWeek = slices.Clone(s.DaysOfWeek)
	return s
}
