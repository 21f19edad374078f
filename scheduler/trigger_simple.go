package scheduler

import (
	"math"
	"time"
)

// simpleRule is Quartz's SimpleTriggerImpl: fires at start + k*interval
// for k = 0..repeat_count (forever when -1); end_at is exclusive. The start
// and repeat count are read from the state because misfire instructions
// move them (setStartTime, setRepeatCount).
type simpleRule struct {
	interval time.Duration
	end      *time.Time
}

func (r *simpleRule) first(st State) (time.Time, bool) { return st.Start, true }

// after is SimpleTriggerImpl.getFireTimeAfter.
func (r *simpleRule) after(t time.Time, st State) (time.Time, bool) {
	if st.RepeatCount != -1 && st.Times > st.RepeatCount {
		return time.Time{}, false
	}
	if st.RepeatCount == 0 && !t.Before(st.Start) {
		return time.Time{}, false
	}
	if r.end != nil && !r.end.After(t) {
		return time.Time{}, false
	}
	if t.Before(st.Start) {
		return st.Start, true
	}
	if r.interval <= 0 {
		return time.Time{}, false
	}
	d := t.Sub(st.Start)
	if d == math.MaxInt64 {
		return time.Time{}, false // centuries apart: beyond any schedule
	}
	n := int64(d/r.interval) + 1
	if st.RepeatCount != -1 && n > st.RepeatCount {
		return time.Time{}, false
	}
	next := st.Start.Add(time.Duration(n) * r.interval)
	if r.end != nil && !r.end.After(next) {
		return time.Time{}, false
	}
	return next, true
}

func (r *simpleRule) atOrAfter(t time.Time, st State) (time.Time, bool) {
	return r.after(t.Add(-time.Nanosecond), st)
}

// timesBetween is SimpleTriggerImpl.computeNumTimesFiredBetween.
func (r *simpleRule) timesBetween(from, to time.Time) int64 {
	if r.interval <= 0 {
		return 0
	}
	return int64(to.Sub(from) / r.interval)
}

// simpleMisfired is SimpleTriggerImpl.updateAfterMisfire.
func (tr *trigger) simpleMisfired(s State, now time.Time, cal Calendar) State {
	r := tr.rule.(*simpleRule)
	instr := tr.spec.Misfire
	switch {
	case instr == MisfireSmartPolicy && s.RepeatCount == 0:
		instr = MisfireFireNow
	case instr == MisfireSmartPolicy && s.RepeatCount == -1:
		instr = MisfireRescheduleNextWithRemainingCount
	case instr == MisfireSmartPolicy:
		instr = MisfireRescheduleNowWithExistingRepeatCount
	case instr == MisfireFireNow && s.RepeatCount != 0:
		instr = MisfireRescheduleNowWithRemainingRepeatCount
	}

	switch instr {
	case MisfireFireNow:
		s.Next = now
	case MisfireRescheduleNextWithExistingCount:
		t, ok := r.after(now, s)
		s.Next = tr.included(t, ok, s, cal)
	case MisfireRescheduleNextWithRemainingCount:
		t, ok := r.after(now, s)
		next := tr.included(t, ok, s, cal)
		if !next.IsZero() {
			s.Times += r.timesBetween(s.Next, next)
		}
		s.Next = next
	case MisfireRescheduleNowWithExistingRepeatCount:
		if s.RepeatCount != 0 && s.RepeatCount != -1 {
			s.RepeatCount -= s.Times
			s.Times = 0
		}
		s = rescheduleNow(s, now, r.end)
	case MisfireRescheduleNowWithRemainingRepeatCount:
		missed := r.timesBetween(s.Next, now)
		if s.RepeatCount != 0 && s.RepeatCount != -1 {
			s.RepeatCount = max(s.RepeatCount-(s.Times+missed), 0)
			s.Times = 0
		}
		s = rescheduleNow(s, now, r.end)
	}
	return s
}

// rescheduleNow restarts a simple trigger at now unless it is past its end.
func rescheduleNow(s State, now time.Time, end *time.Time) State {
	if end != nil && end.Before(now) {
		s.Next = time.Time{}
		return s
	}
	s.Start, s.Next = now, now
	return s
}
