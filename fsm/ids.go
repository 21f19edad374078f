package fsm

import (
	"fmt"
	"strconv"
	"strings"
)

// ExecID identifies one execution: a piece of one fire of one job. It is
// derived from (shard, job id, scheduled time, piece) and, for a manual
// fire, the job's manual sequence number, so a re-sent fire has the same id
// and the shard can be found from the id alone.
type ExecID struct {
	Shard       int
	JobID       uint64
	ScheduledMS int64
	Piece       int
	Manual      uint64 // 0 for scheduled fires
}

// String renders "shard.jobid.ms.piece", plus ".mSEQ" for a manual fire.
func (e ExecID) String() string {
	s := fmt.Sprintf("%d.%016x.%d.%d", e.Shard, e.JobID, e.ScheduledMS, e.Piece)
	if e.Manual > 0 {
		s += fmt.Sprintf(".m%d", e.Manual)
	}
	return s
}

// ParseExecID parses the form String writes.
func ParseExecID(s string) (ExecID, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 && len(parts) != 5 {
		return ExecID{}, fmt.Errorf("parse execution id %q: wrong number of parts", s)
	}
	var id ExecID
	var err error
	if id.Shard, err = strconv.Atoi(parts[0]); err != nil || id.Shard < 0 {
		return ExecID{}, fmt.Errorf("parse execution id %q: bad shard", s)
	}
	if id.JobID, err = strconv.ParseUint(parts[1], 16, 64); err != nil {
		return ExecID{}, fmt.Errorf("parse execution id %q: bad job id", s)
	}
	if id.ScheduledMS, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return ExecID{}, fmt.Errorf("parse execution id %q: bad time", s)
	}
	if id.Piece, err = strconv.Atoi(parts[3]); err != nil || id.Piece < 0 {
		return ExecID{}, fmt.Errorf("parse execution id %q: bad piece", s)
	}
	if len(parts) == 5 {
		seq, ok := strings.CutPrefix(parts[4], "m")
		if id.Manual, err = strconv.ParseUint(seq, 10, 64); !ok || err != nil || id.Manual == 0 {
			return ExecID{}, fmt.Errorf("parse execution id %q: bad sequence", s)
		}
	}
	return id, nil
}

// FormatJobID renders a job id as the API shows it.
func FormatJobID(id uint64) string { return fmt.Sprintf("%016x", id) }

// ParseJobID parses FormatJobID's output.
func ParseJobID(s string) (uint64, error) { return strconv.ParseUint(s, 16, 64) }
