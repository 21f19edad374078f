package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// remaining lists the fire times left in s, at most n.
func remaining(tr Trigger, s State, cal Calendar, n int) []string {
	var out []time.Time
	for ; !s.Done() && len(out) < n; s = tr.Fired(s, cal) {
		out = append(out, s.Next)
	}
	return utc(out)
}

func mustCalendar(t *testing.T, s CalendarSpec, base func(string) (Calendar, error)) Calendar {
	t.Helper()
	c, err := CompileCalendar(s, base)
	require.NoError(t, err)
	return c
}

// For cron, daily_time_interval and calendar_interval triggers, each firing
// every minute from 10:00 and missed since 10:00 when the shard notices at
// 10:05:30.
func TestMisfireIntervalKinds(t *testing.T) {
	start := at(t, "2026-05-04T10:00:00Z") // a Monday
	now := at(t, "2026-05-04T10:05:30Z")
	specs := map[string]Spec{
		KindCron:              {Kind: KindCron, Cron: "0 * * * * ?", StartAt: &start},
		KindDailyTimeInterval: {Kind: KindDailyTimeInterval, Interval: Interval{Count: 1, IsCount: true}, Unit: "minute", StartAt: &start},
		KindCalendarInterval:  {Kind: KindCalendarInterval, Interval: Interval{Count: 1, IsCount: true}, Unit: "minute", StartAt: &start},
	}
	// Excludes 10:06, so do_nothing moves on to 10:07.
	noSix := mustCalendar(t, CalendarSpec{Name: "no-six", Kind: CalendarCron, Cron: "* 6 10 * * ?"}, nil)

	for kind, spec := range specs {
		t.Run(kind, func(t *testing.T) {
			for _, instr := range []string{"", MisfireSmartPolicy, MisfireFireOnceNow} {
				spec.Misfire = instr
				tr := mustCompile(t, spec)
				s := tr.Initial(start, nil)
				require.Equal(t, start, s.Next)
				m := tr.Misfired(s, now, nil)
				require.Equal(t, now, m.Next, "%q fires once now", instr)
				require.Equal(t, []string{"2026-05-04T10:05:30Z", "2026-05-04T10:06:00Z", "2026-05-04T10:07:00Z"}, remaining(tr, m, nil, 3))
				require.False(t, tr.IgnoresMisfires())
			}

			spec.Misfire = MisfireDoNothing
			tr := mustCompile(t, spec)
			s := tr.Initial(start, nil)
			require.Equal(t, []string{"2026-05-04T10:06:00Z", "2026-05-04T10:07:00Z"}, remaining(tr, tr.Misfired(s, now, nil), nil, 2))
			require.Equal(t, []string{"2026-05-04T10:07:00Z"}, remaining(tr, tr.Misfired(s, now, noSix), noSix, 1))
			require.Equal(t, s.Times, tr.Misfired(s, now, nil).Times, "do_nothing does not count the missed fires")

			spec.Misfire = MisfireIgnore
			tr = mustCompile(t, spec)
			s = tr.Initial(start, nil)
			require.True(t, tr.IgnoresMisfires())
			require.Equal(t, s, tr.Misfired(s, now, nil), "every missed fire is replayed")
		})
	}
}

func TestMisfireDoneStateStaysDone(t *testing.T) {
	tr := mustCompile(t, Spec{Kind: KindCron, Cron: "0 * * * * ?"})
	require.Equal(t, State{Times: 3}, tr.Misfired(State{Times: 3}, time.Now(), nil))
}

func TestMisfireSimple(t *testing.T) {
	start := at(t, "2026-05-04T10:00:00Z")
	now := at(t, "2026-05-04T10:05:30Z")
	minute := Interval{Duration: time.Minute}
	// fired twice (10:00, 10:01); 10:02 is the misfired next fire.
	twice := func(tr Trigger) State {
		s := tr.Initial(start, nil)
		return tr.Fired(tr.Fired(s, nil), nil)
	}

	t.Run("fire_now with repeat_count 0 fires once now", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, RepeatCount: ptr(int64(0)), StartAt: &start, Misfire: MisfireFireNow})
		m := tr.Misfired(tr.Initial(start, nil), now, nil)
		require.Equal(t, []string{"2026-05-04T10:05:30Z"}, remaining(tr, m, nil, 5))
	})

	t.Run("fire_now with repeats acts as reschedule_now_with_remaining_repeat_count", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(10)), StartAt: &start, Misfire: MisfireFireNow})
		m := tr.Misfired(twice(tr), now, nil)
		require.Equal(t, int64(5), m.RepeatCount) // 10 - (2 fired + 3 missed)
		require.Equal(t, int64(0), m.Times)
		require.Equal(t, now, m.Start)
		require.Len(t, remaining(tr, m, nil, 50), 6)
	})

	t.Run("reschedule_now_with_existing_repeat_count", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(10)), StartAt: &start, Misfire: MisfireRescheduleNowWithExistingRepeatCount})
		m := tr.Misfired(twice(tr), now, nil)
		require.Equal(t, int64(8), m.RepeatCount) // 10 - 2 fired; missed ones still to come
		require.Equal(t, int64(0), m.Times)
		require.Equal(t, now, m.Start)
		got := remaining(tr, m, nil, 50)
		require.Len(t, got, 9)
		require.Equal(t, []string{"2026-05-04T10:05:30Z", "2026-05-04T10:06:30Z"}, got[:2])
	})

	t.Run("reschedule_now_with_remaining_repeat_count can leave one fire", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(3)), StartAt: &start, Misfire: MisfireRescheduleNowWithRemainingRepeatCount})
		m := tr.Misfired(twice(tr), now, nil)
		require.Equal(t, int64(0), m.RepeatCount, "3 - (2 + 3) is clamped to 0")
		require.Equal(t, []string{"2026-05-04T10:05:30Z"}, remaining(tr, m, nil, 5))
	})

	t.Run("reschedule_next_with_remaining_count", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(10)), StartAt: &start, Misfire: MisfireRescheduleNextWithRemainingCount})
		m := tr.Misfired(twice(tr), now, nil)
		require.Equal(t, at(t, "2026-05-04T10:06:00Z"), m.Next)
		require.Equal(t, int64(6), m.Times, "2 fired + 4 slots skipped")
		require.Equal(t, start, m.Start)
		require.Equal(t, []string{"2026-05-04T10:06:00Z", "2026-05-04T10:07:00Z", "2026-05-04T10:08:00Z", "2026-05-04T10:09:00Z", "2026-05-04T10:10:00Z"},
			remaining(tr, m, nil, 50))
	})

	t.Run("reschedule_next_with_existing_count", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(10)), StartAt: &start, Misfire: MisfireRescheduleNextWithExistingCount})
		m := tr.Misfired(twice(tr), now, nil)
		require.Equal(t, at(t, "2026-05-04T10:06:00Z"), m.Next)
		require.Equal(t, int64(2), m.Times)
		require.Len(t, remaining(tr, m, nil, 50), 5, "the schedule still ends at start + 10 intervals")

		noSix := mustCalendar(t, CalendarSpec{Name: "no-six", Kind: CalendarCron, Cron: "* 6 10 * * ?"}, nil)
		require.Equal(t, at(t, "2026-05-04T10:07:00Z"), tr.Misfired(twice(tr), now, noSix).Next)
	})

	t.Run("reschedule_now past end_at completes", func(t *testing.T) {
		for _, instr := range []string{MisfireRescheduleNowWithExistingRepeatCount, MisfireRescheduleNowWithRemainingRepeatCount} {
			tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(10)), StartAt: &start,
				EndAt: ptr(at(t, "2026-05-04T10:05:00Z")), Misfire: instr})
			require.True(t, tr.Misfired(twice(tr), now, nil).Done(), instr)
		}
	})

	t.Run("smart policy", func(t *testing.T) {
		once := mustCompile(t, Spec{Kind: KindSimple, RepeatCount: ptr(int64(0)), StartAt: &start})
		require.Equal(t, now, once.Misfired(once.Initial(start, nil), now, nil).Next, "repeat 0: fire_now")

		forever := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, StartAt: &start})
		m := forever.Misfired(twice(forever), now, nil)
		require.Equal(t, at(t, "2026-05-04T10:06:00Z"), m.Next, "forever: reschedule_next_with_remaining_count")
		require.Equal(t, int64(6), m.Times)

		counted := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, RepeatCount: ptr(int64(10)), StartAt: &start})
		m = counted.Misfired(twice(counted), now, nil)
		require.Equal(t, now, m.Next, "repeat 10: reschedule_now_with_existing_repeat_count")
		require.Equal(t, int64(8), m.RepeatCount)
	})

	t.Run("ignore_misfire_policy", func(t *testing.T) {
		tr := mustCompile(t, Spec{Kind: KindSimple, Interval: minute, StartAt: &start, Misfire: MisfireIgnore})
		s := twice(tr)
		require.True(t, tr.IgnoresMisfires())
		require.Equal(t, s, tr.Misfired(s, now, nil))
	})
}

func TestMisfireInstructionsList(t *testing.T) {
	require.Contains(t, MisfireInstructions(KindSimple), MisfireRescheduleNextWithRemainingCount)
	require.NotContains(t, MisfireInstructions(KindCron), MisfireFireNow)
	list := MisfireInstructions(KindCron)
	list[0] = "changed"
	require.Equal(t, MisfireFireOnceNow, MisfireInstructions(KindCron)[0], "a copy")
}
