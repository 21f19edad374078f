package fsm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// An updates entry carries format 2: a server built before the rules it
// relies on (an assign only over the target it names) stops at it
// instead of applying it its own way and diverging; other entries keep
// format 1, which every build reads. A format newer than this build's is
// refused with ErrNewerFormat.
func TestUpdatesEntriesCarryTheFormatOfTheirRules(t *testing.T) {
	target := "c1"
	up, err := Encode(&Command{Type: CmdUpdates, Updates: &ExecUpdates{Updates: []ExecUpdate{{ID: "e", Kind: UpdAssign, Replaces: &target}}}})
	require.NoError(t, err)
	require.Equal(t, byte(2), up[0])
	got, err := Decode(up)
	require.NoError(t, err)
	require.Equal(t, "c1", *got.Updates.Updates[0].Replaces)

	del, err := Encode(&Command{Type: CmdDeleteJob, DeleteJob: &JobRef{Key: "g/a"}})
	require.NoError(t, err)
	require.Equal(t, byte(1), del[0])

	newer := append([]byte{commandFormat + 1}, up[1:]...)
	_, err = Decode(newer)
	require.ErrorIs(t, err, ErrNewerFormat)
}
