package bench

import "math/bits"

// Histogram buckets: values below linearBuckets microseconds are exact;
// above, each power of two is split into subBuckets, so a bucket is within
// 1/subBuckets (1.6 %) of the values it holds.
const (
	subBucketBits = 6
	subBuckets    = 1 << subBucketBits
	linearBuckets = 2 * subBuckets
	histBuckets   = linearBuckets + 58*subBuckets
)

// Histogram counts non-negative durations in microseconds. It does not
// allocate after creation; it is not safe for concurrent use.
type Histogram struct {
	counts [histBuckets]uint32
	n      uint64
	max    int64
}

func bucketOf(us int64) int {
	if us < linearBuckets {
		return int(max(us, 0))
	}
	shift := bits.Len64(uint64(us)) - subBucketBits - 1
	mant := int(us>>shift) - subBuckets
	return linearBuckets + (shift-1)*subBuckets + mant
}

// bucketValue is the middle of a bucket's range, in microseconds.
func bucketValue(b int) int64 {
	if b < linearBuckets {
		return int64(b)
	}
	shift := (b-linearBuckets)/subBuckets + 1
	mant := int64((b-linearBuckets)%subBuckets + subBuckets)
	lo := mant << shift
	return lo + (int64(1)<<shift)/2
}

// Add counts one value; negative values count as zero.
func (h *Histogram) Add(us int64) {
	h.counts[bucketOf(us)]++
	h.n++
	if us > h.max {
		h.max = us
	}
}

// Count is the number of values added.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value added, exactly.
func (h *Histogram) Max() int64 { return h.max }

// Quantile returns the value at quantile q (0..1), within a bucket's
// precision; 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return h.max
	}
	var seen uint64
	for b, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return min(bucketValue(b), h.max)
		}
	}
	return h.max
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for b, c := range o.counts {
		h.counts[b] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}
