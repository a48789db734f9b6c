// Package workerraft is the stateful side of a worker process: from the
// --raft-* flags it starts a consensus.Node beside the executor and routes
// the server's writes and reads through it. executors/workercmd calls it
// through workercmd.EnableRaft, so only binaries that can be stateful link
// RAFT (the jig_raft build tag, or jig itself).
package workerraft

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/internal/badinput"
	"google.golang.org/grpc"
)

// Start starts the RAFT node f describes beside inst (see
// workercmd.RaftStarter): writes go through the log, reads follow
// f.Raft.Consistency, the node's admin service joins the server.
func Start(ctx context.Context, f *workerflags.Flags, inst *executors.Instance, opts *worker.Options, workerAddr, token string, logger *slog.Logger) (string, func(context.Context), func(), error) {
	cfg, err := Config(f, inst, workerAddr, logger)
	if err != nil {
		return "", nil, nil, err
	}
	if token != "" {
		cfg.ForwardDialOptions = append(cfg.ForwardDialOptions, worker.AuthDialOption(token))
		cfg.TransportSecret = []byte(token)
	}
	node, err := consensus.NewNode(cfg)
	if err != nil {
		return "", nil, nil, fmt.Errorf("start raft node %s: %w", f.Raft.ID, err)
	}
	opts.Writes = node
	opts.Reads = consensus.Reads{Node: node, Consistency: f.Raft.Consistency}
	opts.Register = func(s *grpc.Server) { consensus.RegisterAdmin(s, node) }
	shutdown := func() {
		if err := node.Shutdown(); err != nil {
			logger.Error("raft shutdown failed", "err", err)
		}
	}
	return node.RaftAddr(), func(ctx context.Context) { resign(ctx, node, logger) }, shutdown, nil
}

// Config builds the RAFT node configuration f describes for inst, whose
// worker listens on workerAddr. Errors are bad input (exit code 2).
func Config(f *workerflags.Flags, inst *executors.Instance, workerAddr string, logger *slog.Logger) (consensus.Config, error) {
	r := f.Raft
	cfg := consensus.Config{Knobs: r.Knobs}
	cfg.ID, cfg.Dir, cfg.BindAddr, cfg.Join = r.ID, r.Dir, r.Addr, r.Join
	cfg.Instance, cfg.Logger = inst, logger
	if cfg.Dir == "" {
		return cfg, &badinput.Error{Field: "--raft-dir", Msg: "required with --raft-id"}
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "127.0.0.1:0"
	}
	cfg.Peers = append([]consensus.Peer(nil), r.Peers...)
	self := -1
	for i, p := range cfg.Peers {
		if p.ID == cfg.ID {
			self = i
		}
	}
	switch {
	case self < 0 && !cfg.Join && r.Peers != nil:
		return cfg, &badinput.Error{Field: "--raft-peers", Msg: fmt.Sprintf("no member with id %q (--raft-id); use --raft-join for a replica added later", cfg.ID)}
	case self < 0:
		cfg.Peers = append(cfg.Peers, consensus.Peer{ID: cfg.ID})
		self = len(cfg.Peers) - 1
	}
	// This replica's own entry: the addresses actually bound. Its raft
	// address in --raft-peers is where it binds unless --raft-addr says
	// otherwise; the two must not disagree, or the others dial nobody.
	p := &cfg.Peers[self]
	if p.WorkerAddr == "" || strings.HasSuffix(p.WorkerAddr, ":0") {
		p.WorkerAddr = workerAddr
	}
	if p.RaftAddr != "" && !strings.HasSuffix(p.RaftAddr, ":0") {
		switch {
		case strings.HasSuffix(cfg.BindAddr, ":0"):
			cfg.BindAddr = p.RaftAddr
		case cfg.BindAddr != p.RaftAddr:
			return cfg, &badinput.Error{Field: "--raft-addr", Msg: fmt.Sprintf("%s, but --raft-peers says member %q is at %s", cfg.BindAddr, cfg.ID, p.RaftAddr)}
		}
	}
	return cfg, nil
}

// resign hands leadership to another member before a leader drains, so
// writes keep flowing (followers forward them to the new leader) instead
// of waiting for an election after the node stops. A failure only costs
// that election.
func resign(ctx context.Context, node *consensus.Node, logger *slog.Logger) {
	if !node.IsLeader() || node.Stats().Peers == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := node.TransferLeadership(ctx, ""); err != nil {
		logger.Warn("leadership transfer before shutdown failed; the others will elect a leader", "err", err)
		return
	}
	// The successor is known here only at its first heartbeat; its own
	// log says it took over.
	logger.Info("leadership transferred before shutdown", "took", time.Since(start))
}
