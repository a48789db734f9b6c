//go:build jig_raft

package workercmd

import "github.com/jig-dev/jig/executors/workerraft"

// Built with -tags jig_raft (workerflags.RaftBuildTag): this binary's
// workers can be stateful replicas.
func init() { EnableRaft(workerraft.Start) }
