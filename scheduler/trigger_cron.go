package scheduler

import "time"

// cronRule is Quartz's CronTriggerImpl: fires at the expression's times at
// or after the start; end_at is inclusive (a fire exactly at end_at
// happens).
type cronRule struct {
	expr *cronExpr
	loc  *zone
	end  *time.Time
}

func (r *cronRule) first(st State) (time.Time, bool) { return r.atOrAfter(st.Start, st) }

func (r *cronRule) after(t time.Time, st State) (time.Time, bool) {
	if t.Before(st.Start) {
		return r.atOrAfter(st.Start, st)
	}
	if r.end != nil && !t.Before(*r.end) {
		return time.Time{}, false
	}
	return r.bound(r.expr.after(r.loc, t))
}

func (r *cronRule) atOrAfter(t time.Time, st State) (time.Time, bool) {
	if t.Before(st.Start) {
		t = st.Start
	}
	return r.bound(r.expr.atOrAfter(r.loc, t))
}

func (r *cronRule) bound(t time.Time, ok bool) (time.Time, bool) {
	if !ok || (r.end != nil && t.After(*r.end)) {
		return time.Time{}, false
	}
	return t, true
}
