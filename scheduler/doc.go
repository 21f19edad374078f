// Package scheduler owns swarm's trigger math: the Quartz-dialect cron
// parser, the Simple, DailyTimeInterval and CalendarInterval triggers,
// exclusion calendars, misfire instructions and the preview of fire times.
//
// Everything here is pure. Functions take "now" and a trigger's state as
// inputs and return new times and states; the package never reads the clock,
// never does I/O, never starts a goroutine and knows nothing of Raft. A shard
// leader calls it to compute the next fire time it then commits, so every
// replica stores the same answer and Apply never computes with the local
// zone database. The IANA zone database is embedded (time/tzdata) so every
// server computes the same instants.
package scheduler
