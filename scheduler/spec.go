package scheduler

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

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

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

func fmtIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
