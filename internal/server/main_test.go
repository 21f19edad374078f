package server_test

import (
	"testing"

	"github.com/swarmsched/swarm/client"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	client.RunShimIfRequested()
	goleak.VerifyTestMain(m,
		// memberlist's Shutdown stops its schedulers without waiting for a
		// probe under way; that goroutine ends within the probe timeout.
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
		goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).triggerFunc"),
	)
}
