//go:build swarmbug_dispatchfirst

package shard

func init() { bugs.dispatchFirst = true }
