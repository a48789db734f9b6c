package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/executors/workerraft"
	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, newExecutorCmd)
	// jig runs stateful replicas (jig executor --raft-id, and the engine
	// in-process): it links RAFT whatever its build tags.
	workercmd.EnableRaft(workerraft.Start)
}

func newExecutorCmd() *cobra.Command {
	f := workerflags.Default()
	cmd := &cobra.Command{
		Use:   "executor --uses EXECUTOR [--port N]",
		Short: "Serve one executor as a bare worker (no gateway)",
		Long: `Serve one executor over Jina's worker protocol (process_single_data,
process_data, endpoint_discovery, _status, health, reflection), without a
gateway: a "shared" executor other flows can use as external, and what the
engine starts for child-process replicas.

EXECUTOR is builtin:Name, a registered type, a config.yml, or a folder
holding one. A folder with a Go executor (a main package beside
config.yml) is built first (once: an unchanged folder reuses its cached
binary), then that program serves with the same flags.

Once serving it prints one JSON line on stdout:
  {"jig":"ready","address":"127.0.0.1:50051","pid":1234}`,
		Example: `  jig executor --uses builtin:Echo --port 50051
  jig executor --uses examples/indexer/config.yml --uses-with '{"limit": 5}'
  jig executor --uses ./my-executor --port 50051`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir, ok := sourceFolder(f.Uses); ok {
				return execSource(cmd, dir, f)
			}
			logger, err := workercmd.NewLogger(&f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return workercmd.Run(cmd.Context(), &f, cmd.OutOrStdout(), logger)
		},
	}
	f.Register(cmd.Flags())
	return cmd
}

// sourceFolder returns the folder of a Go executor that uses names (the
// folder itself, or the folder of its config.yml).
func sourceFolder(uses string) (string, bool) {
	st, err := os.Stat(uses)
	if err != nil {
		return "", false
	}
	dir := uses
	if !st.IsDir() {
		dir = filepath.Dir(uses)
	}
	return dir, build.IsMainPackage(dir)
}

// execSource builds the Go executor in dir and replaces this process with
// it, passing the same flags (--uses naming its config file), so its
// ready line, signals and exit code are the worker's own. A stateful
// worker (--raft-id) is built with RAFT support, a traced one (--tracing)
// with the tracing SDK.
func execSource(cmd *cobra.Command, dir string, f workerflags.Flags) error {
	cfg, err := executors.LoadSourceConfig(f.Uses)
	if err != nil {
		return err
	}
	var tags []string
	if f.Raft.ID != "" {
		tags = append(tags, workerflags.RaftBuildTag)
	}
	if f.Tracing.Enabled {
		tags = append(tags, workerflags.TracingBuildTag)
	}
	res, err := buildWithProgress(cmd.Context(), cmd.ErrOrStderr(), &build.Builder{}, dir, tags)
	if err != nil {
		return err
	}
	f.Uses = cfg.File
	args := append([]string{res.Binary}, f.Args()...)
	err = syscall.Exec(res.Binary, args, os.Environ())
	return fmt.Errorf("run the executor built from %s: %w", dir, err)
}

// buildWithProgress builds dir, saying on w what is built and, while the
// go command runs, how long it has been running.
func buildWithProgress(ctx context.Context, w io.Writer, b *build.Builder, dir string, tags []string) (build.Result, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	started := false
	res, err := b.BuildTags(ctx, dir, tags, func() {
		started = true
		fmt.Fprintf(w, "building executor %s ...\n", dir)
		go func() {
			defer close(done)
			t0 := time.Now()
			t := time.NewTicker(buildProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					fmt.Fprintf(w, "still building executor %s (%s)\n", dir, time.Since(t0).Round(time.Second))
				case <-stop:
					return
				}
			}
		}()
	})
	close(stop)
	if started {
		<-done
	}
	var be *build.Error
	switch {
	case errors.As(err, &be):
		return res, err
	case err != nil:
		return res, fmt.Errorf("build %s: %w", dir, err)
	case res.Cached:
		fmt.Fprintf(w, "executor %s is up to date (cached binary)\n", dir)
	default:
		fmt.Fprintf(w, "built executor %s in %s\n", dir, res.Duration.Round(time.Millisecond))
	}
	return res, nil
}

// buildProgressEvery is how often a running build says it still runs.
const buildProgressEvery = 5 * time.Second
