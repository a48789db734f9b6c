package engine

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors/workerflags"
)

// buildProgressEvery is how often a running build says it still runs.
const buildProgressEvery = 5 * time.Second

// startAll starts deployments concurrently. Deployments of Go executors
// are grouped by source folder: each folder is built once for its whole
// group (distinct folders in parallel, as many at once as the builder
// allows), and a deployment's replicas start as soon as its binary
// exists, without waiting for other folders. Deployments that need no
// build start at once. errs[i] is the outcome of ds[i]; a failed build is
// reported once, by the first deployment of its group (the others are
// marked failed without repeating the compiler output).
func (e *Engine) startAll(ctx context.Context, ds []*deployment) []error {
	errs := make([]error, len(ds))
	groups := map[string][]int{}
	var folders []string
	for i, d := range ds {
		if d.cfg.Source == "" || d.cfg.External {
			continue
		}
		src := filepath.Clean(d.cfg.Source)
		if _, ok := groups[src]; !ok {
			folders = append(folders, src)
		}
		groups[src] = append(groups[src], i)
	}
	var wg sync.WaitGroup
	startOne := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ds[i].start(ctx)
		}()
	}
	for i, d := range ds {
		if d.cfg.Source == "" || d.cfg.External {
			startOne(i)
		}
	}
	for _, src := range folders {
		idx := groups[src]
		group := make([]*deployment, len(idx))
		for j, i := range idx {
			group[j] = ds[i]
			ds[i].publishState(events.Starting, "")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.buildSource(ctx, src, group, nil)
			if err != nil {
				for _, d := range group {
					d.publishState(events.Failed, err.Error())
				}
				errs[idx[0]] = err
				return
			}
			for _, i := range idx {
				ds[i].mu.Lock()
				ds[i].binary = res.Binary
				ds[i].mu.Unlock()
				startOne(i)
			}
		}()
	}
	wg.Wait()
	return errs
}

// buildSource gets the binary of the Go executor in src for the given
// deployments: one log line (and, when the go command runs, one build
// event for all of them, progress every few seconds while it runs).
func (e *Engine) buildSource(ctx context.Context, src string, group []*deployment, trigger []string) (build.Result, error) {
	names := make([]string, len(group))
	for i, d := range group {
		names[i] = d.cfg.Name
	}
	who := strings.Join(names, ",")
	logger := e.logger.With("folder", src, "deployments", who)
	// The go command may not run at all (cached binary); progress starts
	// when it does.
	var (
		mu      sync.Mutex
		started time.Time
	)
	stopProgress := make(chan struct{})
	var progress sync.WaitGroup
	onCompile := func() {
		mu.Lock()
		started = time.Now()
		mu.Unlock()
		e.bus.Publish(events.Update{Time: started, Kind: events.Build, Deployment: who, Trigger: trigger, Outcome: events.Started})
		logger.Info("building executor")
		progress.Add(1)
		go func() {
			defer progress.Done()
			t := time.NewTicker(buildProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					logger.Info("still building executor", "elapsed", time.Since(started).Round(time.Second).String())
				case <-stopProgress:
					return
				}
			}
		}()
	}
	// RAFT support is linked only into binaries that run stateful
	// replicas (workerflags.RaftBuildTag), the tracing SDK only into
	// binaries that trace (workerflags.TracingBuildTag); the tags are in
	// the cache key.
	var tags []string
	if slices.ContainsFunc(group, func(d *deployment) bool { return d.cfg.Stateful }) {
		tags = append(tags, workerflags.RaftBuildTag)
	}
	if slices.ContainsFunc(group, func(d *deployment) bool { return d.cfg.Tracing.Enabled }) {
		tags = append(tags, workerflags.TracingBuildTag)
	}
	res, err := e.builder.BuildTags(ctx, src, tags, onCompile)
	close(stopProgress)
	progress.Wait()
	mu.Lock()
	compiled := !started.IsZero()
	mu.Unlock()
	if err == nil && res.Cached {
		logger.Info("executor binary up to date, not rebuilt", "took", res.Duration.Round(time.Millisecond).String())
		return res, nil
	}
	ev := events.Update{Time: time.Now(), Kind: events.Build, Deployment: who, Trigger: trigger, Duration: res.Duration, Outcome: events.Succeeded}
	if err != nil {
		ev.Outcome = events.Failure
		var be *build.Error
		if errors.As(err, &be) {
			ev.Output = be.Output
			err1 := be.Err
			if err1 == nil {
				err1 = err
			}
			// The compiler's output travels with the event (one copy).
			logger.Error("build failed", "err", err1)
		} else {
			ev.Output = err.Error()
			logger.Error("build failed", "err", err)
		}
	} else {
		logger.Info("built executor", "took", res.Duration.Round(time.Millisecond).String())
	}
	if compiled || err != nil {
		e.bus.Publish(ev)
	}
	for _, name := range names {
		e.prom.Reloads.WithLabelValues(name, string(events.Build), string(ev.Outcome)).Inc()
	}
	return res, err
}
