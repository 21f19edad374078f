package scheduler

// This file holds the package's entry points. The trigger-math work fills
// them in; the signatures are the contract the rest of swarm codes against.

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FieldError is a validation error that names the offending field of the
// trigger or calendar JSON ("cron", "interval", "time_zone", ...).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Interval is the "interval" field: a Go duration string for simple
// triggers ("1500ms", "1h"), a positive integer for the interval triggers
// that have a unit. It marshals back in the form it was given.
type Interval struct {
	Duration time.Duration // set when given as a string
	Count    int64         // set when given as a number
	IsCount  bool
}

// IsZero reports whether the interval was not given.
func (i Interval) IsZero() bool { return i.Duration == 0 && i.Count == 0 && !i.IsCount }

// MarshalJSON writes a string for a duration and a number for a count.
func (i Interval) MarshalJSON() ([]byte, error) {
	if i.IsCount {
		return json.Marshal(i.Count)
	}
	return json.Marshal(i.Duration.String())
}

// UnmarshalJSON accepts "1500ms" or 15.
func (i *Interval) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*i = Interval{Count: n, IsCount: true}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a duration string such as \"1500ms\" or an integer")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	*i = Interval{Duration: d}
	return nil
}

// Compile validates a spec and returns the trigger it describes. Errors are
// *FieldError values naming the field.
func Compile(spec Spec) (Trigger, error) {
	return nil, errors.New("scheduler: not implemented")
}

// Preview lists the first count fire times of t from its start, as Quartz's
// TriggerUtils.computeFireTimes does, honouring cal (which may be nil).
// from is "now" for a trigger without a start_at.
func Preview(t Trigger, cal Calendar, from time.Time, count int) []time.Time {
	return nil
}

// CalendarSpec is a named exclusion calendar as users write it in JSON.
type CalendarSpec struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // holiday, annual, monthly, weekly, daily, cron
	Description string `json:"description,omitempty"`
	TimeZone    string `json:"time_zone,omitempty"`
	Base        string `json:"base,omitempty"` // name of a base calendar

	Dates       []string `json:"dates,omitempty"`         // holiday: "2026-12-25"
	Days        []string `json:"days,omitempty"`          // annual: "12-25"; weekly: "SAT"
	DaysOfMonth []int    `json:"days_of_month,omitempty"` // monthly
	RangeStart  string   `json:"range_start,omitempty"`   // daily: "HH:MM[:SS[.mmm]]"
	RangeEnd    string   `json:"range_end,omitempty"`
	Invert      bool     `json:"invert,omitempty"` // daily
	Cron        string   `json:"cron,omitempty"`   // cron: excluded times
}

// CompileCalendar validates spec and builds the calendar. base resolves a
// base calendar by name; it may be nil when spec has no base.
func CompileCalendar(spec CalendarSpec, base func(name string) (Calendar, error)) (Calendar, error) {
	return nil, errors.New("scheduler: not implemented")
}
