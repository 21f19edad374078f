package bench

import (
	"fmt"
	"math"
	"time"
)

// allowedPeriods are the fire periods, in seconds, that a Quartz cron
// expression with a step in one field repeats exactly: divisors of a
// minute, and whole minutes that divide an hour. Job i then fires at the
// unix seconds t with t mod period == offset(i).
var allowedPeriods = []int64{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60,
	120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800, 3600}

// Schedule is how the bench's jobs fire: each job once per Period, at a
// second spread by its index (Herd: all on second 0 of the period).
type Schedule struct {
	Period time.Duration
	Herd   bool
}

// CheckPeriod reports whether d is a period the bench can express.
func CheckPeriod(d time.Duration) error {
	s := int64(d / time.Second)
	if time.Duration(s)*time.Second == d {
		for _, p := range allowedPeriods {
			if p == s {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is not one of 1s 2s 3s 4s 5s 6s 10s 12s 15s 20s 30s 1m 2m 3m 4m 5m 6m 10m 12m 15m 20m 30m 1h", d)
}

// PeriodForRate picks the allowed period that makes jobs fire closest to
// rate fires per second in total.
func PeriodForRate(jobs int, rate float64) time.Duration {
	want := float64(jobs) / rate
	best := allowedPeriods[0]
	for _, p := range allowedPeriods {
		if math.Abs(math.Log(float64(p)/want)) < math.Abs(math.Log(float64(best)/want)) {
			best = p
		}
	}
	return time.Duration(best) * time.Second
}

func (s Schedule) seconds() int64 { return int64(s.Period / time.Second) }

// Offset is job i's second within the period.
func (s Schedule) Offset(i int) int64 {
	if s.Herd {
		return 0
	}
	return int64(i) % s.seconds()
}

// Cron is job i's Quartz cron expression.
func (s Schedule) Cron(i int) string {
	p := s.seconds()
	o := s.Offset(i)
	switch {
	case p < 60:
		return fmt.Sprintf("%d/%d * * * * ?", o, p)
	case p == 60:
		return fmt.Sprintf("%d * * * * ?", o)
	case p < 3600:
		return fmt.Sprintf("%d %d/%d * * * ?", o%60, o/60, p/60)
	}
	return fmt.Sprintf("%d %d * * * ?", o%60, o/60)
}

// FiresPerSecond is the mean fire rate of jobs jobs.
func (s Schedule) FiresPerSecond(jobs int) float64 {
	return float64(jobs) / s.Period.Seconds()
}

// firstSlot is job i's first fire at or after unix second from.
func (s Schedule) firstSlot(i int, from int64) int64 {
	p, o := s.seconds(), s.Offset(i)
	t := from - mod(from, p) + o
	if t < from {
		t += p
	}
	return t
}

// slotsIn counts job i's fires in [from, to) (unix seconds).
func (s Schedule) slotsIn(i int, from, to int64) int {
	first := s.firstSlot(i, from)
	if first >= to {
		return 0
	}
	return int((to-1-first)/s.seconds()) + 1
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
