// Package api is swarm's public REST contract: the JSON shapes of jobs,
// executions, clients and the cluster, their validation rules and defaults,
// the error envelope, and a small Go client for the REST API.
//
// The shapes here are a promise to users' scripts: fields may be added,
// never renamed or removed. The package does no scheduling and knows
// nothing of Raft; servers and the CLI both build on it.
package api
