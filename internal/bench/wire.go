package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/swarmsched/swarm/protocol"
)

// The simulated workers read the few fields they need straight from the
// message bytes instead of decoding whole messages: a fire is read and
// answered without allocating, so that the bench is not what limits a
// run. Anything the fast path does not recognise falls back to
// encoding/json.

var (
	prefixType     = []byte(`{"type":"`)
	keyExecID      = []byte(`"exec_id":"`)
	keyAttempt     = []byte(`"attempt":`)
	keyJob         = []byte(`"job":"`)
	keyScheduledAt = []byte(`"scheduled_at":"`)
	keyFiredAt     = []byte(`"fired_at":"`)
	keyLeader      = []byte(`"leader":"`)
	keyHeartbeatMS = []byte(`"heartbeat_ms":`)
	keyServerID    = []byte(`"server_id":"`)
)

// fireView holds slices of one received message; they alias the read
// buffer and are valid until the next read.
type fireView struct {
	execID    []byte
	attempt   int
	job       []byte
	scheduled int64 // unix ms
	fired     int64 // unix ms when the leader released it; 0 if unknown
	leader    []byte
	local     bool // the leader is the server holding this worker's socket
}

var errNoField = errors.New("field missing")

// messageType returns the type of a message written by encoding/json from
// protocol.Message (whose first field is Type), or nil.
func messageType(msg []byte) []byte {
	if !bytes.HasPrefix(msg, prefixType) {
		return nil
	}
	rest := msg[len(prefixType):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil
	}
	return rest[:end]
}

// stringField returns the raw value of a string field that has no
// escapes in it (ids, names and times never have).
func stringField(msg, key []byte) ([]byte, error) {
	i := bytes.Index(msg, key)
	if i < 0 {
		return nil, errNoField
	}
	rest := msg[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, errNoField
	}
	return rest[:end], nil
}

func intField(msg, key []byte) (int64, error) {
	i := bytes.Index(msg, key)
	if i < 0 {
		return 0, errNoField
	}
	rest := msg[i+len(key):]
	neg := len(rest) > 0 && rest[0] == '-'
	if neg {
		rest = rest[1:]
	}
	var n int64
	digits := 0
	for ; digits < len(rest) && digits < 18 && rest[digits] >= '0' && rest[digits] <= '9'; digits++ {
		n = n*10 + int64(rest[digits]-'0')
	}
	if digits == 0 {
		return 0, errNoField
	}
	if neg {
		n = -n
	}
	return n, nil
}

// parseFire reads a fire message.
func parseFire(msg []byte, v *fireView) error {
	var err error
	if v.execID, err = stringField(msg, keyExecID); err != nil {
		return err
	}
	att, err := intField(msg, keyAttempt)
	if err != nil {
		return err
	}
	v.attempt = int(att)
	if v.job, err = stringField(msg, keyJob); err != nil {
		return err
	}
	ts, err := stringField(msg, keyScheduledAt)
	if err != nil {
		return err
	}
	if v.scheduled, err = parseTimeMS(ts); err != nil {
		return err
	}
	v.fired = 0
	if ts, err := stringField(msg, keyFiredAt); err == nil {
		v.fired, _ = parseTimeMS(ts)
	}
	v.leader, _ = stringField(msg, keyLeader) // optional
	return nil
}

// parseFireSlow decodes a fire with encoding/json: the fallback for
// messages the fast path does not read.
func parseFireSlow(msg []byte, v *fireView) error {
	var m protocol.Message
	if err := json.Unmarshal(msg, &m); err != nil {
		return err
	}
	if m.Fire == nil {
		return errNoField
	}
	f := m.Fire
	v.execID, v.attempt, v.job = []byte(f.ExecID), f.Attempt, []byte(f.Job)
	v.scheduled, v.fired, v.leader = f.ScheduledAt.UnixMilli(), f.FiredAt.UnixMilli(), []byte(f.Leader)
	return nil
}

// parseTimeMS reads an RFC 3339 time in UTC ("2026-01-02T03:04:05Z",
// optionally with a fraction) into unix milliseconds without allocating;
// other forms go through time.Parse.
func parseTimeMS(b []byte) (int64, error) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return parseTimeSlow(b)
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return parseTimeSlow(b)
	}
	ms := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' {
			return parseTimeSlow(b)
		}
		digits := frac[1:]
		for i := 0; i < 3; i++ {
			ms *= 10
			if i < len(digits) {
				if digits[i] < '0' || digits[i] > '9' {
					return parseTimeSlow(b)
				}
				ms += int(digits[i] - '0')
			}
		}
	}
	days := daysFromCivil(y, mo, d)
	return ((days*24+int64(h))*60+int64(mi))*60*1000 + int64(s)*1000 + int64(ms), nil
}

func parseTimeSlow(b []byte) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

// appendAck appends an ack accepting a fire.
func appendAck(buf, execID []byte, attempt int, now time.Time) []byte {
	buf = append(buf, `{"type":"ack","ack":{"exec_id":"`...)
	buf = append(buf, execID...)
	buf = append(buf, `","attempt":`...)
	buf = strconv.AppendInt(buf, int64(attempt), 10)
	buf = append(buf, `,"accepted":true,"started_at":"`...)
	buf = now.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, `"}}`...)
}

// appendResult appends a result saying the run succeeded at once.
func appendResult(buf, execID []byte, attempt int, now time.Time) []byte {
	buf = append(buf, `{"type":"result","result":{"exec_id":"`...)
	buf = append(buf, execID...)
	buf = append(buf, `","attempt":`...)
	buf = strconv.AppendInt(buf, int64(attempt), 10)
	buf = append(buf, `,"state":"succeeded","started_at":"`...)
	buf = now.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","finished_at":"`...)
	buf = now.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, `"}}`...)
}

// heartbeatMessage is what a simulated worker sends: it runs nothing.
var heartbeatMessage = []byte(`{"type":"heartbeat","heartbeat":{"running":0}}`)

// helloMessage is a worker's hello.
func helloMessage(id, group string, capacity int) ([]byte, error) {
	return json.Marshal(&protocol.Message{Type: protocol.TypeHello, Hello: &protocol.Hello{
		Protocol: protocol.Version, ID: id, Group: group, Capacity: capacity, Software: "swarm-bench",
	}})
}

// jobIndex reads the number at the end of a bench job's key
// ("bench/j0001234" -> 1234), or -1.
func jobIndex(key []byte, prefix string) int {
	if len(key) <= len(prefix) || string(key[:len(prefix)]) != prefix {
		return -1
	}
	n := 0
	for _, c := range key[len(prefix):] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
		if n > 1<<40 {
			return -1
		}
	}
	return n
}
