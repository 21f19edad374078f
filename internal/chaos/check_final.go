package chaos

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// FinalRead is a job key's state read after healing.
type FinalRead struct {
	Exists bool   `json:"exists"`
	Value  string `json:"value,omitempty"`
}

// FinalResult is the outcome of the "no acknowledged write is lost" check.
type FinalResult struct {
	Keys       int         `json:"keys"`
	Present    int         `json:"present"`
	Violations []Violation `json:"violations,omitempty"`
}

// CheckFinalState checks that every key ends in a state that some write
// could have left last: the effect of an acknowledged write that no later
// acknowledged write superseded, or of a write whose outcome is unknown.
// A key no acknowledged write touched may also end absent. final holds the
// read of every key the history names.
func CheckFinalState(ops []Op, final map[string]FinalRead) FinalResult {
	byKey := map[string][]Op{}
	for _, op := range ops {
		if op.Kind != OpGet {
			byKey[op.Key] = append(byKey[op.Key], op)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var res FinalResult
	for _, k := range keys {
		got, ok := final[k]
		res.Keys++
		if !ok {
			res.Violations = append(res.Violations, Violation{Check: "final_state", Subject: k, Message: "no final read of this job"})
			continue
		}
		if got.Exists {
			res.Present++
		}
		allowed := allowedFinal(byKey[k])
		if _, fine := allowed[stateName(got)]; !fine {
			res.Violations = append(res.Violations, Violation{Check: "final_state", Subject: k, Message: fmt.Sprintf(
				"job ends %s; the acknowledged writes allow only %s", stateName(got), strings.Join(sortedKeys(allowed), ", "))})
		}
	}
	return res
}

// allowedFinal returns the states, by name, that the key may end in.
func allowedFinal(writes []Op) map[string]bool {
	effective := make([]Op, 0, len(writes))
	for _, w := range writes {
		if w.Outcome == OutOK || w.Outcome == OutUnknown {
			effective = append(effective, w)
		}
	}
	allowed := map[string]bool{}
	acked := false
	for _, w := range effective {
		if w.Outcome == OutOK {
			acked = true
		}
		if !superseded(w, effective) {
			allowed[stateName(effectOf(w))] = true
		}
	}
	if !acked {
		allowed[stateName(FinalRead{})] = true
	}
	return allowed
}

// superseded reports whether an acknowledged write began after w was
// answered, so that w cannot be the last write.
func superseded(w Op, all []Op) bool {
	ret := w.Return
	if w.Outcome == OutUnknown {
		ret = math.MaxInt64
	}
	for _, o := range all {
		if o.Outcome == OutOK && o.Call > ret {
			return true
		}
	}
	return false
}

func effectOf(w Op) FinalRead {
	if w.Kind == OpDelete {
		return FinalRead{}
	}
	return FinalRead{Exists: true, Value: w.Value}
}

func stateName(r FinalRead) string {
	if !r.Exists {
		return "absent"
	}
	return fmt.Sprintf("%q", r.Value)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
