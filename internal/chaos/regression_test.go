package chaos

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func loadHistory(t *testing.T, path string) []Op {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var ops []Op
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var op Op
		require.NoError(t, json.Unmarshal(sc.Bytes(), &op))
		ops = append(ops, op)
	}
	require.NoError(t, sc.Err())
	return ops
}

// TestRegressionStaleReadAfterLeaderTransfer replays a history the short
// profile recorded against the real server (seed 2, no fault yet): the
// worker's acknowledged create of k-000-01 was followed by its own update,
// which the shard's new leader (gained by a leadership transfer 100 ms
// earlier) answered 404. The last op is the stale one: without it the
// history is linearizable.
func TestRegressionStaleReadAfterLeaderTransfer(t *testing.T) {
	ops := loadHistory(t, "testdata/stale-read-after-leader-transfer.jsonl")
	res := CheckLinearizable(ops, 30*time.Second)
	require.Equal(t, "Illegal", res.Verdict)
	require.Equal(t, "k-000-01", res.Violations[0].Subject)

	require.Equal(t, "Ok", CheckLinearizable(ops[:len(ops)-1], 30*time.Second).Verdict)
}
