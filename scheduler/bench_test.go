package scheduler

import (
	"testing"
	"time"
)

var benchSink time.Time

// BenchmarkCronNext measures one next-fire computation (Fired) for
// typical expressions and for the L, W and # ones, in UTC and in a zone
// with DST. The target is well under 2 µs.
func BenchmarkCronNext(b *testing.B) {
	exprs := []struct{ name, expr string }{
		{"every-5s", "0/5 * * * * ?"},
		{"daily-2am", "0 0 2 * * ?"},
		{"workdays", "0 15 10 ? * MON-FRI"},
		{"lists", "0 0/5 14,18 * * ?"},
		{"last-day", "0 15 10 L * ?"},
		{"last-weekday", "0 0 18 LW * ?"},
		{"nearest-weekday", "0 0 9 15W * ?"},
		{"last-friday", "0 15 10 ? * 6L"},
		{"third-friday", "0 15 10 ? * 6#3"},
		{"leap-day", "0 0 0 29 2 ?"},
	}
	for _, zone := range []string{"UTC", "America/New_York"} {
		for _, e := range exprs {
			b.Run(zone+"/"+e.name, func(b *testing.B) {
				benchTrigger(b, Spec{Kind: KindCron, Cron: e.expr, TimeZone: zone})
			})
		}
	}
}

func BenchmarkSimpleNext(b *testing.B) {
	benchTrigger(b, Spec{Kind: KindSimple, Interval: Interval{Duration: 1500 * time.Millisecond}})
}

func BenchmarkDailyNext(b *testing.B) {
	benchTrigger(b, Spec{Kind: KindDailyTimeInterval, DaysOfWeek: []string{"MON", "FRI"}, StartTimeOfDay: "08:00:00",
		EndTimeOfDay: "17:00:00", Interval: Interval{Count: 15, IsCount: true}, Unit: "minute", TimeZone: "America/New_York"})
}

// BenchmarkCalendarIntervalNext walks from a start a year back, as
// Quartz's getFireTimeAfter does for day and month units.
func BenchmarkCalendarIntervalNext(b *testing.B) {
	for _, unit := range []string{"hour", "day", "month"} {
		b.Run(unit, func(b *testing.B) {
			benchTrigger(b, Spec{Kind: KindCalendarInterval, Interval: Interval{Count: 1, IsCount: true}, Unit: unit,
				TimeZone: "Asia/Kolkata", PreserveHourOfDayAcrossDST: unit != "hour"})
		})
	}
}

func BenchmarkCalendarSkip(b *testing.B) {
	weekend, err := CompileCalendar(CalendarSpec{Name: "w", Kind: CalendarWeekly, Days: []string{"SAT", "SUN"}, TimeZone: "Europe/Berlin"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := Compile(Spec{Kind: KindCron, Cron: "0 0 * * * ?", TimeZone: "Europe/Berlin"})
	if err != nil {
		b.Fatal(err)
	}
	states := make([]State, 500)
	states[0] = tr.Initial(time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), weekend)
	for i := 1; i < len(states); i++ {
		states[i] = tr.Fired(states[i-1], weekend)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchSink = tr.Fired(states[i], weekend).Next
		i = (i + 1) % len(states)
	}
}

func BenchmarkCompileCron(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(Spec{Kind: KindCron, Cron: "0 0/5 14,18 ? JAN-MAR MON-FRI", TimeZone: "Europe/Berlin"}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTrigger measures Fired, one following fire time per iteration,
// over the first 500 states of a trigger started a year ago.
func benchTrigger(b *testing.B, spec Spec) {
	tr, err := Compile(spec)
	if err != nil {
		b.Fatal(err)
	}
	states := make([]State, 500)
	states[0] = tr.Initial(time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), nil)
	for i := 1; i < len(states); i++ {
		states[i] = tr.Fired(states[i-1], nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchSink = tr.Fired(states[i], nil).Next
		i = (i + 1) % len(states)
	}
}
