// Package scheduler owns swarm's trigger math: the Quartz-dialect cron
// parser, the Simple, DailyTimeInterval and CalendarInterval triggers,
// exclusion calendars, misfire instructions and the preview of fire times,
// with Quartz 2.3's semantics (docs/triggers.md lists where and why swarm
// differs, chiefly its DST policy for cron). Package quartzdiff checks it
// against the real Quartz.
//
// Everything here is pure. Functions take "now" and a trigger's state as
// inputs and return new times and states; the package never reads the clock,
// never does I/O, never starts a goroutine and knows nothing of Raft. A shard
// leader calls it to compute the next fire time it then commits, so every
// replica stores the same answer and Apply never computes with the local
// zone database. The IANA zone database is embedded (time/tzdata) so every
// server knows every zone. The misfire threshold is the caller's: Misfired
// applies an instruction to a fire the caller has judged missed.
//
// Layout: cron_parse.go and cron_match.go parse and match expressions on
// wall-clock fields (civil.go); cron_dst.go maps wall-clock matches to
// instants under swarm's DST policy, over the offset spans of zone.go;
// javacal.go reproduces the java.util.Calendar arithmetic the interval
// triggers inherit from Quartz; trigger_*.go are the four kinds and their
// misfire rules; calendar*.go the exclusion calendars.
package scheduler
