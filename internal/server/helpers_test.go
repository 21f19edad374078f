package server_test

import "github.com/swarmsched/swarm/scheduler"

func schedulerSpec(cron string) scheduler.Spec {
	return scheduler.Spec{Kind: scheduler.KindCron, Cron: cron}
}
