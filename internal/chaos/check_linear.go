package chaos

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// register is the model state of one job key: whether it exists, and the
// value (the job's description) it holds.
type register struct {
	exists bool
	value  string
}

// jobModel is a per-key register: create fails if the key exists, update
// and delete fail if it does not. An operation whose outcome is unknown
// may have applied at any instant after its call or never; the checker
// gets it with an infinite return time, so "never" is the linearization
// that puts it after everything else.
var jobModel = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return register{} },
	Step: func(state, input, output any) (bool, any) {
		return stepRegister(state.(register), input.(Op))
	},
	DescribeOperation: func(input, _ any) string {
		op := input.(Op)
		return fmt.Sprintf("%s %s %q -> %s", op.Kind, op.Key, op.Value, op.Outcome)
	},
	DescribeState: func(state any) string {
		r := state.(register)
		if !r.exists {
			return "absent"
		}
		return fmt.Sprintf("%q", r.value)
	},
}

func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	var keys []string
	for _, op := range history {
		k := op.Input.(Op).Key
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], op)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// stepRegister is the sequential specification of one job key.
func stepRegister(s register, op Op) (bool, any) {
	switch op.Kind {
	case OpCreate:
		switch op.Outcome {
		case OutOK:
			return !s.exists, register{exists: true, value: op.Value}
		case OutExists:
			return s.exists, s
		case OutUnknown:
			if s.exists {
				return true, s
			}
			return true, register{exists: true, value: op.Value}
		}
	case OpUpdate:
		switch op.Outcome {
		case OutOK:
			return s.exists, register{exists: true, value: op.Value}
		case OutNotFound:
			return !s.exists, s
		case OutUnknown:
			if !s.exists {
				return true, s
			}
			return true, register{exists: true, value: op.Value}
		}
	case OpDelete:
		switch op.Outcome {
		case OutOK:
			return s.exists, register{}
		case OutNotFound:
			return !s.exists, s
		case OutUnknown:
			return true, register{}
		}
	case OpGet:
		switch op.Outcome {
		case OutOK:
			return s.exists && s.value == op.Value, s
		case OutNotFound:
			return !s.exists, s
		}
	}
	return false, s
}

// LinearResult is the outcome of the linearizability check.
type LinearResult struct {
	Ops        int         `json:"ops"`
	Keys       int         `json:"keys"`
	Unknown    int         `json:"unknown"` // writes checked as maybe-applied
	Dropped    int         `json:"dropped"` // reads with no answer and refused requests: they constrain nothing
	Verdict    string      `json:"verdict"` // ok, illegal, unknown (timed out)
	Violations []Violation `json:"violations,omitempty"`

	info porcupine.LinearizationInfo
}

// CheckLinearizable checks that the job CRUD history is linearizable
// against a per-key register, within timeout.
func CheckLinearizable(ops []Op, timeout time.Duration) LinearResult {
	var res LinearResult
	history := make([]porcupine.Operation, 0, len(ops))
	keys := map[string]bool{}
	for _, op := range ops {
		if op.Outcome == OutRejected || (op.Kind == OpGet && op.Outcome == OutUnknown) {
			res.Dropped++
			continue
		}
		ret := op.Return
		if op.Outcome == OutUnknown {
			ret = math.MaxInt64
			res.Unknown++
		}
		keys[op.Key] = true
		history = append(history, porcupine.Operation{ClientId: op.Worker, Input: op, Output: op.Outcome, Call: op.Call, Return: ret})
	}
	res.Ops, res.Keys = len(history), len(keys)

	verdict, info := porcupine.CheckOperationsVerbose(jobModel, history, timeout)
	res.info = info
	res.Verdict = string(verdict)
	switch verdict {
	case porcupine.Illegal:
		for _, key := range illegalKeys(history, timeout) {
			res.Violations = append(res.Violations, Violation{Check: "linearizable", Subject: key,
				Message: "the operations on this job are not linearizable (see linearizability.html in the artifacts)"})
		}
	case porcupine.Unknown:
		res.Violations = append(res.Violations, Violation{Check: "linearizable", Subject: "history",
			Message: fmt.Sprintf("linearizability check did not finish within %s", timeout)})
	}
	return res
}

// illegalKeys checks each key's operations alone and names the keys
// whose history is not linearizable.
func illegalKeys(history []porcupine.Operation, timeout time.Duration) []string {
	var keys []string
	for _, part := range partitionByKey(history) {
		if porcupine.CheckOperationsTimeout(jobModel, part, timeout) == porcupine.Illegal {
			keys = append(keys, part[0].Input.(Op).Key)
		}
	}
	return keys
}

// WriteVisualization writes porcupine's HTML view of the checked history.
func (r LinearResult) WriteVisualization(path string) error {
	if err := porcupine.VisualizePath(jobModel, r.info, path); err != nil {
		return fmt.Errorf("visualize history: %w", err)
	}
	return nil
}
