module github.com/swarmsched/swarm

go 1.26.0

// guard: go-metrics v0.7.0 removed the compat package that raft v1.7.2 and raft-boltdb v2.3.1 import
exclude github.com/hashicorp/go-metrics v0.7.0

require github.com/spf13/cobra v1.10.2

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
)
