package bench

import (
	"fmt"
	"sync"
	"time"
)

// maxSlots bounds the per-slot table (jobs x fires per job in the window),
// 8 bytes each.
const maxSlots = 64 << 20

// outcome is how the recorder classed one receipt.
type outcome int

const (
	outFirst     outcome = iota // the first receipt of a slot in the window
	outRetry                    // a new attempt of an execution already received
	outDuplicate                // the same (exec id, attempt) again
	outOtherExec                // the same slot again under another execution id
	outOutside                  // not in the window (or not a bench job): counted only
)

// slot is what was received for one scheduled fire of one job.
type slot struct {
	n        uint8  // receipts
	attempts uint8  // bit per attempt seen (1..8)
	hash     uint32 // hash of the first execution id
}

// secStat is one second of the window, by scheduled second.
type secStat struct {
	hist     Histogram
	received int
	lost     int
	dups     int
	expected int
}

// watch waits for the first fire from a leader ("" = any) received at or
// after since.
type watch struct {
	leader string
	since  int64 // unix ns
	got    int64 // unix ns of the receipt, 0 until then
}

// Recorder counts the fires the simulated workers receive. Before
// SetWindow it only counts; afterwards it keeps, for every job and every
// slot of the window, what arrived, and the lateness of each fire by its
// scheduled second. Safe for concurrent use.
type Recorder struct {
	sched  Schedule
	jobs   int
	prefix string

	mu       sync.Mutex
	from, to int64 // window, unix seconds; to == 0 until set
	nslots   int
	slots    []slot
	secs     []secStat
	hist     Histogram     // every in-window fire: receipt - scheduled
	release  Histogram     // fired_at - scheduled: the leader's part
	transit  [2]Histogram  // receipt - fired_at: through another server [0], from the leader's own hub [1]
	recvSecs []int         // receipts per second of receipt, from the window start
	leaders  []leaderCount // few: one per server
	watches  []*watch
	missing  []bool // jobs that failed to load: no fire expected

	total, before, after, unknown, offSchedule int
	duplicates, dupOther, retries, early       int
}

// NewRecorder records fires of jobs named prefix+number (0..jobs-1) that
// fire on sched.
func NewRecorder(sched Schedule, jobs int, prefix string) *Recorder {
	return &Recorder{sched: sched, jobs: jobs, prefix: prefix}
}

type leaderCount struct {
	id string
	n  int
}

// countLeader counts a fire by the leader that sent it, without
// allocating once the leader is known.
func (r *Recorder) countLeader(leader []byte) {
	for i := range r.leaders {
		if r.leaders[i].id == string(leader) {
			r.leaders[i].n++
			return
		}
	}
	r.leaders = append(r.leaders, leaderCount{id: string(leader), n: 1})
}

// SetWindow starts keeping fires scheduled in [from, to) (unix seconds),
// plus drain seconds of receipts after it.
func (r *Recorder) SetWindow(from, to int64, drain time.Duration) error {
	p := r.sched.seconds()
	nslots := int((to-from+p-1)/p) + 1
	if int64(r.jobs)*int64(nslots) > maxSlots {
		return fmt.Errorf("window: %d jobs x %d fires each is more than the %d slots the bench tracks; shorten --duration or lengthen --period",
			r.jobs, nslots, maxSlots)
	}
	slots := make([]slot, r.jobs*nslots)
	secs := make([]secStat, to-from)
	recv := make([]int, int(to-from)+int(drain/time.Second)+1)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.from, r.to, r.nslots, r.slots, r.secs, r.recvSecs = from, to, nslots, slots, secs, recv
	return nil
}

// Missing marks job idx as not loaded: its slots are not expected.
func (r *Recorder) Missing(idx int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.missing == nil {
		r.missing = make([]bool, r.jobs)
	}
	if idx >= 0 && idx < r.jobs {
		r.missing[idx] = true
	}
}

// Watch returns a watch that fills in with the first fire received from
// leader ("" for any) at or after since.
func (r *Recorder) Watch(leader string, since time.Time) *watch {
	w := &watch{leader: leader, since: since.UnixNano()}
	r.mu.Lock()
	r.watches = append(r.watches, w)
	r.mu.Unlock()
	return w
}

// Got returns when the watched fire arrived (zero time until then).
func (r *Recorder) Got(w *watch) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.got == 0 {
		return time.Time{}
	}
	return time.Unix(0, w.got).UTC()
}

// Record counts one received fire. recv is the receipt time in unix ns.
func (r *Recorder) Record(v *fireView, recv int64) outcome {
	idx := jobIndex(v.job, r.prefix)
	hash := fnv32(v.execID)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	r.countLeader(v.leader)
	r.checkWatches(v.leader, recv)
	if r.to != 0 {
		if s := recv/1e9 - r.from; s >= 0 && s < int64(len(r.recvSecs)) {
			r.recvSecs[s]++
		}
	}
	if idx < 0 || idx >= r.jobs {
		r.unknown++
		return outOutside
	}
	return r.place(idx, v, hash, recv)
}

func (r *Recorder) checkWatches(leader []byte, recv int64) {
	for _, w := range r.watches {
		if w.got == 0 && recv >= w.since && (w.leader == "" || w.leader == string(leader)) {
			w.got = recv
		}
	}
}

// place files a receipt of job idx under its slot.
func (r *Recorder) place(idx int, v *fireView, hash uint32, recv int64) outcome {
	sec := v.scheduled / 1000
	switch {
	case r.to == 0 || sec < r.from:
		r.before++
		return outOutside
	case sec >= r.to:
		r.after++
		return outOutside
	}
	first := r.sched.firstSlot(idx, r.from)
	p := r.sched.seconds()
	if v.scheduled%1000 != 0 || sec < first || (sec-first)%p != 0 {
		r.offSchedule++
		return outOutside
	}
	s := &r.slots[idx*r.nslots+int((sec-first)/p)]
	st := &r.secs[sec-r.from]
	bit := uint8(1) << min(max(v.attempt-1, 0), 7)

	if s.n > 0 {
		s.n = min(s.n+1, 255)
		switch {
		case s.hash == hash && s.attempts&bit == 0:
			s.attempts |= bit
			r.retries++
			return outRetry
		case s.hash == hash:
			r.duplicates++
			st.dups++
			return outDuplicate
		}
		r.duplicates++
		r.dupOther++
		st.dups++
		return outOtherExec
	}
	s.hash, s.attempts = hash, bit
	s.n = 1
	st.received++
	lateUS := (recv - v.scheduled*1e6) / 1e3
	if lateUS < 0 {
		r.early++
	}
	st.hist.Add(lateUS)
	r.hist.Add(lateUS)
	if v.fired != 0 {
		r.release.Add((v.fired - v.scheduled) * 1e3)
		local := 0
		if v.local {
			local = 1
		}
		r.transit[local].Add(recv/1e3 - v.fired*1e3)
	}
	return outFirst
}

// fnv32 is FNV-1a over b.
func fnv32(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// Tally is what the recorder saw, computed once the window is over.
type Tally struct {
	Expected    int
	Received    int // first receipts of in-window slots
	Lost        int
	Duplicates  int
	DupOther    int // of Duplicates: the same slot under another execution id
	Retries     int
	OffSchedule int
	Before      int
	After       int
	Unknown     int
	Early       int
	Total       int
	Lateness    Histogram
	Release     Histogram
	Transit     [2]Histogram // [0] through another server, [1] from the leader's own hub
	Seconds     []SecondTally
	Receipts    []int // receipts per second of receipt time, from the window start
	Leaders     map[string]int
}

// SecondTally is one scheduled second of the window.
type SecondTally struct {
	Expected, Received, Lost, Duplicates int
	P50, P99, Max                        time.Duration
}

// Tally counts the expected slots that never arrived and summarises the
// window. Call it after the drain.
func (r *Recorder) Tally() Tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := Tally{
		Duplicates: r.duplicates, DupOther: r.dupOther, Retries: r.retries, Release: r.release, Transit: r.transit, OffSchedule: r.offSchedule, Before: r.before,
		After: r.after, Unknown: r.unknown, Early: r.early, Total: r.total, Lateness: r.hist,
		Receipts: append([]int(nil), r.recvSecs...), Leaders: map[string]int{},
	}
	for _, l := range r.leaders {
		t.Leaders[l.id] = l.n
	}
	if r.to == 0 {
		return t
	}
	r.countLost(&t)
	for i := range r.secs {
		st := &r.secs[i]
		t.Seconds = append(t.Seconds, SecondTally{
			Expected: st.expected, Received: st.received, Lost: st.lost, Duplicates: st.dups,
			P50: us(st.hist.Quantile(0.5)), P99: us(st.hist.Quantile(0.99)), Max: us(st.hist.Max()),
		})
	}
	return t
}

// countLost walks every job's slots in the window.
func (r *Recorder) countLost(t *Tally) {
	p := r.sched.seconds()
	for i := range r.secs {
		r.secs[i].expected, r.secs[i].lost = 0, 0
	}
	for idx := 0; idx < r.jobs; idx++ {
		if r.missing != nil && r.missing[idx] {
			continue
		}
		first := r.sched.firstSlot(idx, r.from)
		n := r.sched.slotsIn(idx, r.from, r.to)
		row := r.slots[idx*r.nslots : idx*r.nslots+n]
		for k := range row {
			st := &r.secs[first+int64(k)*p-r.from]
			st.expected++
			t.Expected++
			if row[k].n == 0 {
				st.lost++
				t.Lost++
			} else {
				t.Received++
			}
		}
	}
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
