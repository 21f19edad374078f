package shard

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
	"github.com/swarmsched/swarm/fsm"
)

// refusingGroup refuses barriers and proposals as a Raft member whose
// leadership transfer never ends does, until told to stop.
type refusingGroup struct {
	*applier
	refusing atomic.Bool
}

func (g *refusingGroup) Barrier(time.Duration) error {
	if g.refusing.Load() {
		return raft.ErrLeadershipTransferInProgress
	}
	return nil
}

func (g *refusingGroup) Propose(c *fsm.Command) (*fsm.Result, error) {
	if g.refusing.Load() {
		return nil, raft.ErrLeadershipTransferInProgress
	}
	return g.applier.Propose(c)
}

// A fire loop whose group refuses everything as "leadership transfer in
// progress" reports for how long, so that its server can tell a wedged
// member (Runner.Wedged) from a transfer under way; one success clears it.
func TestFirerReportsHowLongItsGroupRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, err := fsm.OpenShard(0, filepath.Join(t.TempDir(), "fsm.db"))
		require.NoError(t, err)
		defer store.Close()
		g := &refusingGroup{applier: &applier{store: store}}
		g.refusing.Store(true)

		f, err := NewFirer(FirerConfig{NodeID: "s1", Dispatcher: &stuckPeer{}}, store, g, g, 1)
		require.NoError(t, err)
		start := time.Now()
		f.Start(t.Context())
		defer f.Stop()

		time.Sleep(WedgedAfter + time.Second)
		synctest.Wait()
		require.GreaterOrEqual(t, f.RefusedFor(time.Now()), WedgedAfter)
		require.LessOrEqual(t, f.RefusedFor(time.Now()), time.Since(start))
		require.False(t, f.Ready(), "the loop started without its barrier")

		g.refusing.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()
		require.True(t, f.Ready())
		require.Zero(t, f.RefusedFor(time.Now()))
	})
}
