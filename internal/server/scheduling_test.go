package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/api"
	"github.com/swarmsched/swarm/internal/server"
	"github.com/swarmsched/swarm/scheduler"
)

func misfireAfter(d time.Duration) func(*server.Config) {
	return func(c *server.Config) { c.MisfireThreshold = d }
}

func executionsOf(t *testing.T, base, job string) []api.Execution {
	t.Helper()
	var list api.ExecutionList
	require.Equal(t, http.StatusOK, do(t, "GET", base+"/v1/jobs/"+job+"/executions?limit=1000", nil, &list))
	return list.Executions
}

func countState(execs []api.Execution, state, reason string) int {
	n := 0
	for _, e := range execs {
		if e.State == state && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}

// TestResumeRunsMissedFiresThroughTheMisfirePolicy pauses an every-second
// job for longer than the misfire threshold: on resume, fire_once_now
// fires once at once (recording the missed slot skipped), do_nothing
// waits for the next slot.
func TestResumeRunsMissedFiresThroughTheMisfirePolicy(t *testing.T) {
	s := startServer(t, t.TempDir(), misfireAfter(2*time.Second))
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()

	for _, tc := range []struct{ name, misfire string }{{"once", "fire_once_now"}, {"nothing", "do_nothing"}} {
		j := cronJob(tc.name)
		j.Trigger = scheduler.Spec{Kind: scheduler.KindCron, Cron: "0/10 * * * * ?", Misfire: tc.misfire}
		require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", j, nil))
		require.Equal(t, http.StatusOK, do(t, "POST", base+"/v1/jobs/demo/"+tc.name+"/pause", nil, nil))
	}
	// Wait until the paused jobs' next slot is more than the threshold in
	// the past, then resume both.
	next := time.Now().Truncate(10 * time.Second).Add(10 * time.Second)
	waitUntil(t, next.Add(3*time.Second))
	resumed := time.Now()
	for _, name := range []string{"once", "nothing"} {
		var got api.Job
		require.Equal(t, http.StatusOK, do(t, "POST", base+"/v1/jobs/demo/"+name+"/resume", nil, &got))
		require.Equal(t, api.JobNormal, got.State)
	}

	// fire_once_now: a fire right away, and the missed slot on record.
	f := waitFire(t, w, "demo/once")
	require.WithinDuration(t, resumed, f.ScheduledAt, 2*time.Second, "fired now, not at the missed slot")
	require.Eventually(t, func() bool {
		return countState(executionsOf(t, base, "demo/once"), api.ExecSkipped, api.ReasonMisfire) == 1
	}, 5*time.Second, 50*time.Millisecond)

	// do_nothing: the missed slot is skipped, the next one is in the
	// future, and nothing fired for the past.
	require.Eventually(t, func() bool {
		var nothing api.Job
		do(t, "GET", base+"/v1/jobs/demo/nothing", nil, &nothing)
		return nothing.NextFireAt != nil && nothing.NextFireAt.After(resumed) &&
			countState(executionsOf(t, base, "demo/nothing"), api.ExecSkipped, api.ReasonMisfire) == 1
	}, 5*time.Second, 50*time.Millisecond)
	for _, e := range executionsOf(t, base, "demo/nothing") {
		require.False(t, e.State != api.ExecSkipped && e.ScheduledAt.Before(resumed.Add(-time.Second)),
			"do_nothing fired the missed slot %s", e.ScheduledAt)
	}
}

// TestLateFireWithinThresholdFiresAtItsSlot: a job created with a start
// in the near past fires its missed slots late, each at its own slot.
func TestLateFireWithinThresholdFiresAtItsSlot(t *testing.T) {
	s := startServer(t, t.TempDir(), misfireAfter(time.Minute))
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()

	start := time.Now().Add(-5 * time.Second).Truncate(time.Second)
	j := cronJob("late")
	j.Trigger = scheduler.Spec{Kind: scheduler.KindSimple, Interval: scheduler.Interval{Duration: time.Second}, StartAt: &start}
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", j, nil))
	f := waitFire(t, w, "demo/late")
	require.Equal(t, start.UTC(), f.ScheduledAt.UTC(), "the first missed slot fires, late, at its own time")
}

// TestCalendarExcludesFireTimes: an every-second job on a calendar that
// excludes even seconds fires only on odd ones.
func TestCalendarExcludesFireTimes(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()

	cal := scheduler.CalendarSpec{Name: "even-seconds", Kind: "cron", Cron: "0/2 * * * * ?"}
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/calendars", cal, nil))
	var bad api.ErrorBody
	require.Equal(t, http.StatusBadRequest, do(t, "POST", base+"/v1/calendars", scheduler.CalendarSpec{Name: "x", Kind: "cron", Cron: "bogus"}, &bad))
	require.NotEmpty(t, bad.Error.Field)

	j := cronJob("odd")
	j.Trigger.Calendar = "even-seconds"
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", j, nil))
	for range 4 {
		f := waitFire(t, w, "demo/odd")
		require.Equal(t, 1, f.ScheduledAt.Second()%2, "fired on an excluded second %s", f.ScheduledAt)
	}

	missing := cronJob("missing-cal")
	missing.Trigger.Calendar = "nope"
	var e api.ErrorBody
	require.Equal(t, http.StatusBadRequest, do(t, "POST", base+"/v1/jobs", missing, &e))
	require.Equal(t, "trigger.calendar", e.Error.Field)
}

// TestPauseAndResumeJobsAndGroups: a paused job does not fire; pausing a
// group pauses its jobs and is remembered for jobs created in it later.
func TestPauseAndResumeJobsAndGroups(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	w := dialWorker(t, s.HTTPAddr(), "w1")
	base := "http://" + s.HTTPAddr()

	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("a"), nil))
	waitFire(t, w, "demo/a")

	var out map[string]int
	require.Equal(t, http.StatusOK, do(t, "POST", base+"/v1/groups/demo/pause", nil, &out))
	require.Equal(t, 1, out["jobs"])
	require.Equal(t, http.StatusCreated, do(t, "POST", base+"/v1/jobs", cronJob("b"), nil))
	var b api.Job
	do(t, "GET", base+"/v1/jobs/demo/b", nil, &b)
	require.Equal(t, api.JobPaused, b.State, "a job created in a paused group starts paused")

	// Nothing of the group fires while it is paused.
	pausedAt := time.Now()
	drain(w, 1500*time.Millisecond)
	waitUntil(t, pausedAt.Add(2500*time.Millisecond))
	for _, f := range drain(w, 0) {
		require.False(t, f.ScheduledAt.After(pausedAt.Add(time.Second)), "%s fired at %s while paused", f.Job, f.ScheduledAt)
	}

	require.Equal(t, http.StatusOK, do(t, "POST", base+"/v1/groups/demo/resume", nil, &out))
	require.Equal(t, 2, out["jobs"])
	waitFire(t, w, "demo/b")

	// One job alone.
	var a api.Job
	require.Equal(t, http.StatusOK, do(t, "POST", base+"/v1/jobs/demo/a/pause", nil, &a))
	require.Equal(t, api.JobPaused, a.State)
	require.Nil(t, a.NextFireAt)
}

// waitFire waits for the next fire of job.
func waitFire(t *testing.T, w *worker, job string) fireSeen {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case f := <-w.fires:
			if f.Job == job {
				return fireSeen{Job: f.Job, ScheduledAt: f.ScheduledAt}
			}
		case <-deadline:
			t.Fatalf("no fire of %s within 15 s", job)
		}
	}
}

type fireSeen struct {
	Job         string
	ScheduledAt time.Time
}

// drain returns the fires received now and within d.
func drain(w *worker, d time.Duration) []fireSeen {
	var out []fireSeen
	deadline := time.After(d)
	for {
		select {
		case f := <-w.fires:
			out = append(out, fireSeen{Job: f.Job, ScheduledAt: f.ScheduledAt})
		case <-deadline:
			return out
		}
	}
}

// waitUntil blocks until the wall clock passes t: the schedule under test
// is wall-clock time.
func waitUntil(t *testing.T, at time.Time) {
	t.Helper()
	if d := time.Until(at); d > 0 {
		<-time.After(d)
	}
}

// TestPreviewAllFourKinds asks the server for the fire times of each
// trigger kind, as Quartz's computeFireTimes lists them.
func TestPreviewAllFourKinds(t *testing.T) {
	s := startServer(t, t.TempDir())
	defer s.Stop()
	base := "http://" + s.HTTPAddr()
	at := func(v string) *time.Time {
		ts, err := time.Parse(time.RFC3339, v)
		require.NoError(t, err)
		return &ts
	}
	cases := []struct {
		name    string
		trigger string
		want    []string
	}{
		{"cron L-2 in London", `{"kind":"cron","cron":"0 15 10 L-2 * ?","time_zone":"Europe/London","start_at":"2026-03-28T00:00:00Z"}`,
			[]string{"2026-03-29T09:15:00Z", "2026-04-28T09:15:00Z", "2026-05-29T09:15:00Z"}},
		{"cron in a DST gap", `{"kind":"cron","cron":"0 30 2 * * ?","time_zone":"America/New_York","start_at":"2026-03-07T12:00:00Z"}`,
			[]string{"2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
		{"simple", `{"kind":"simple","interval":"1500ms","repeat_count":2,"start_at":"2026-03-06T07:30:00Z"}`,
			[]string{"2026-03-06T07:30:00Z", "2026-03-06T07:30:01.5Z", "2026-03-06T07:30:03Z"}},
		{"daily time interval", `{"kind":"daily_time_interval","days_of_week":["MON","TUE"],"start_time_of_day":"08:00:00","end_time_of_day":"17:00:00","interval":15,"unit":"minute","time_zone":"America/New_York","start_at":"2026-03-06T00:00:00Z"}`,
			[]string{"2026-03-09T12:00:00Z", "2026-03-09T12:15:00Z", "2026-03-09T12:30:00Z"}},
		{"calendar interval", `{"kind":"calendar_interval","interval":1,"unit":"month","time_zone":"Asia/Kolkata","preserve_hour_of_day_across_dst":true,"start_at":"2026-01-31T04:30:00Z"}`,
			[]string{"2026-01-31T04:30:00Z", "2026-02-28T04:30:00Z", "2026-03-28T04:30:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"count":3,"trigger":` + tc.trigger + `}`
			resp, err := http.Post(base+"/v1/triggers:preview", "application/json", strings.NewReader(body))
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var out api.PreviewResponse
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			require.Len(t, out.FireTimes, 3)
			require.Len(t, out.LocalTimes, 3)
			for i, w := range tc.want {
				require.Equal(t, at(w).UTC(), out.FireTimes[i].UTC(), "fire %d", i)
			}
		})
	}

	resp, err := http.Post(base+"/v1/triggers:preview", "application/json", strings.NewReader(`{"trigger":{"kind":"cron","cron":"0 0 * * ?"}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var e api.ErrorBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "trigger.cron", e.Error.Field)
	require.Contains(t, e.Error.Message, "second", "a 5-field expression gets the seconds hint")
}
