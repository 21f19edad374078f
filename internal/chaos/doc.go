// Package chaos is swarm's fault-injection suite: it runs real `swarm
// server` and `swarm client` processes on loopback, drives a recorded
// workload through them (job CRUD over REST, and jobs that fire every
// second and append one line per run to a sink file), injects faults on a
// seeded schedule (SIGKILL, SIGSTOP, partitions, a full disk), heals, and
// then checks the recorded history against swarm's promise: job CRUD is
// linearizable, no acknowledged job is lost, every scheduled slot runs
// once, only the shard's leader of a term fires, and replicas converge.
//
// It owns the harness (processes, firewall rules, the tmpfs mount), the
// workload, the nemesis and the checkers. The checkers are pure functions
// of the recorded history, so they are unit-tested on small synthetic
// histories.
//
// It never changes the servers' behaviour from inside: every fault is
// injected from outside the processes, and every fact it checks comes from
// the sink, the servers' logs, or the public and internal REST endpoints.
// It never sends traffic beyond the loopback range.
package chaos
