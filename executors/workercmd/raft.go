package workercmd

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/internal/badinput"
)

// RaftStarter starts the RAFT node of a stateful worker (f.Raft.ID set)
// beside inst, whose server listens on workerAddr, requiring token (if
// any) from the other members. It routes writes and reads through the node
// by setting opts (Writes, Reads, Register) and returns the address its
// transport bound, resign (hand leadership to another member before the
// server drains) and shutdown (after the server stopped). Errors naming
// a flag are bad input. executors/workerraft.Start is the implementation;
// this package only names its shape, so it does not link RAFT itself.
type RaftStarter = func(ctx context.Context, f *workerflags.Flags, inst *executors.Instance, opts *worker.Options, workerAddr, token string, logger *slog.Logger) (raftAddr string, resign func(context.Context), shutdown func(), err error)

var (
	raftMu      sync.Mutex
	raftStarter RaftStarter
)

// EnableRaft makes this program's workers serve --raft-id with start
// (executors/workerraft.Start). A binary built with the jig_raft tag
// (workerflags.RaftBuildTag) does it on its own; jig calls it for `jig
// executor`, and tests that run stateful workers call it.
func EnableRaft(start RaftStarter) {
	raftMu.Lock()
	defer raftMu.Unlock()
	raftStarter = start
}

// raftNode is a started RAFT node, as Run uses it.
type raftNode struct {
	addr     string
	resign   func(context.Context)
	shutdown func()
}

// startRaft starts the node f asks for, or says how to build a binary that
// can: asking a worker built without RAFT support to replicate is bad
// input, not a crash.
func startRaft(ctx context.Context, f *workerflags.Flags, inst *executors.Instance, opts *worker.Options, workerAddr, token string, logger *slog.Logger) (*raftNode, error) {
	raftMu.Lock()
	start := raftStarter
	raftMu.Unlock()
	if start == nil {
		return nil, &badinput.Error{Field: "--raft-id", Msg: "this executor binary was built without RAFT support, so it cannot run a stateful replica; build it with `go build -tags " + workerflags.RaftBuildTag + "` (jig does so when a deployment of the executor is stateful)"}
	}
	addr, resign, shutdown, err := start(ctx, f, inst, opts, workerAddr, token, logger)
	if err != nil {
		return nil, err
	}
	return &raftNode{addr: addr, resign: resign, shutdown: shutdown}, nil
}
