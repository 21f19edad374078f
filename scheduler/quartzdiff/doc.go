// Package quartzdiff holds the differential test of package scheduler
// against real Quartz 2.3 (Debian's libquartz2-java): QuartzDiff.java
// prints Quartz's fire times for triggers read on stdin, and the test
// feeds the same random triggers to both and compares the fire times,
// outside daylight-saving transitions for cron triggers, where swarm
// follows its own policy. Install Quartz with scripts/install-quartz.sh;
// without java, javac or the jar the test skips. The package has no
// non-test code.
package quartzdiff
