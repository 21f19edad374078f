package scheduler

import (
	"time"
)

// Trigger kinds, as they appear in the "kind" field of the trigger JSON.
const (
	KindCron              = "cron"
	KindSimple            = "simple"
	KindDailyTimeInterval = "daily_time_interval"
	KindCalendarInterval  = "calendar_interval"
)

// DefaultPriority is Quartz's default trigger priority. Among triggers due at
// the same instant, higher priorities fire first.
const DefaultPriority = 5

// Spec is the trigger object a job carries, exactly as users write it in
// JSON. It is flat: the fields used depend on Kind. Compile validates it.
//
//	{"kind":"cron","cron":"0/5 * * * * ?","time_zone":"Europe/Berlin"}
//	{"kind":"simple","interval":"1500ms","repeat_count":-1}
//	{"kind":"daily_time_interval","days_of_week":["MON","FRI"],
//	 "start_time_of_day":"08:00:00","end_time_of_day":"17:00:00",
//	 "interval":15,"unit":"minute","time_zone":"America/New_York"}
//	{"kind":"calendar_interval","interval":1,"unit":"month",
//	 "time_zone":"Asia/Kolkata","preserve_hour_of_day_across_dst":true}
type Spec struct {
	Kind string `json:"kind"`

	// Cron is a Quartz cron expression (cron kind only).
	Cron string `json:"cron,omitempty"`

	// TimeZone is an IANA zone name. Defaults to UTC.
	TimeZone string `json:"time_zone,omitempty"`

	// StartAt: the schedule is not in force before it. Defaults to the
	// instant the trigger is first scheduled.
	StartAt *time.Time `json:"start_at,omitempty"`

	// EndAt: no fire after it (Quartz's per-kind inclusive/exclusive rule).
	EndAt *time.Time `json:"end_at,omitempty"`

	// Interval is a duration string ("1500ms") for simple triggers and a
	// positive integer counted in Unit for daily_time_interval and
	// calendar_interval triggers.
	Interval Interval `json:"interval,omitzero"`

	// Unit of Interval: second, minute, hour (daily_time_interval), and also
	// day, week, month, year (calendar_interval).
	Unit string `json:"unit,omitempty"`

	// RepeatCount: simple triggers fire RepeatCount+1 times, -1 forever;
	// daily_time_interval triggers fire at most RepeatCount+1 times in their
	// lifetime (Quartz 2.x), -1 forever. Nil means -1.
	RepeatCount *int64 `json:"repeat_count,omitempty"`

	// DaysOfWeek for daily_time_interval: "MON".."SUN". Defaults to all.
	DaysOfWeek []string `json:"days_of_week,omitempty"`

	// StartTimeOfDay and EndTimeOfDay for daily_time_interval, "HH:MM:SS".
	// Default 00:00:00 and 23:59:59.
	StartTimeOfDay string `json:"start_time_of_day,omitempty"`
	EndTimeOfDay   string `json:"end_time_of_day,omitempty"`

	// PreserveHourOfDayAcrossDST and SkipDayIfHourDoesNotExist apply to
	// calendar_interval triggers with a unit of a day or longer.
	PreserveHourOfDayAcrossDST bool `json:"preserve_hour_of_day_across_dst,omitempty"`
	SkipDayIfHourDoesNotExist  bool `json:"skip_day_if_hour_does_not_exist,omitempty"`

	// Misfire is a Quartz misfire instruction name. Empty means the smart
	// policy of the kind.
	Misfire string `json:"misfire,omitempty"`

	// Priority orders triggers due at the same instant. Zero means
	// DefaultPriority.
	Priority int `json:"priority,omitempty"`

	// Calendar names an exclusion calendar stored in the cluster.
	Calendar string `json:"calendar,omitempty"`
}

// State is the mutable part of a scheduled trigger. The shard leader
// computes it with the functions of Trigger and commits it; replicas store
// it verbatim.
type State struct {
	// Next is the next scheduled fire time; zero when the trigger is
	// complete and will never fire again.
	Next time.Time `json:"next,omitzero"`

	// Prev is the scheduled time of the last fire; zero before the first.
	Prev time.Time `json:"prev,omitzero"`

	// Times counts fires so far (Quartz timesTriggered).
	Times int64 `json:"times,omitempty"`

	// Start is the effective start time. It is the spec's StartAt or the
	// instant the trigger was first scheduled, and some simple-trigger
	// misfire instructions move it (Quartz setStartTime).
	Start time.Time `json:"start,omitzero"`

	// RepeatCount is the effective repeat count of a simple trigger, which
	// some misfire instructions change (Quartz setRepeatCount).
	RepeatCount int64 `json:"repeat_count,omitempty"`
}

// Done reports whether the trigger will never fire again.
func (s State) Done() bool { return s.Next.IsZero() }

// Trigger is a compiled, immutable trigger. Implementations are safe for
// concurrent use. Every method is pure: the same inputs give the same
// outputs on every server.
type Trigger interface {
	// Spec returns the normalized spec the trigger was compiled from
	// (defaults filled in: time zone, priority, repeat count).
	Spec() Spec

	// Location is the trigger's time zone.
	Location() *time.Location

	// Initial returns the state of a trigger first scheduled at now: the
	// first fire time at or after the effective start (the spec's StartAt,
	// or now when it has none), skipping times cal excludes, as Quartz's
	// computeFirstFireTime does. A start in the past gives a Next in the
	// past; the caller then applies Misfired. cal may be nil.
	Initial(now time.Time, cal Calendar) State

	// Fired returns the state after the trigger fired at s.Next (Quartz
	// triggered()): Prev = s.Next, Times+1, Next = the following fire time
	// or zero when the trigger is complete.
	Fired(s State, cal Calendar) State

	// Misfired applies the trigger's misfire instruction, as Quartz's
	// updateAfterMisfire does, to a state whose Next is older than now by
	// more than the misfire threshold. It returns the new state; when the
	// instruction fires once now, the returned Next equals now.
	Misfired(s State, now time.Time, cal Calendar) State

	// IgnoresMisfires reports whether the misfire instruction is
	// ignore_misfire_policy: every missed fire is replayed, late.
	IgnoresMisfires() bool
}

// Calendar excludes times from a trigger's schedule (Quartz Calendar).
// Implementations are immutable and safe for concurrent use.
type Calendar interface {
	// Included reports whether t is not excluded.
	Included(t time.Time) bool

	// NextIncluded returns the first included instant strictly after t
	// (Quartz getNextIncludedTime), or the zero time when there is none.
	NextIncluded(t time.Time) time.Time
}
