//go:build swarmbug_skipbarrier

package shard

func init() { bugs.skipBarrier = true }
