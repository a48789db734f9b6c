package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/watch"
)

// startWatchers watches what the flow asks to: the source folders of
// deployments with `reload: true` (rebuild and roll), and — when any
// deployment has `restart: true` or reloads from a config file — the flow
// YAML and those executor YAMLs (re-read the flow and reconcile).
func (e *Engine) startWatchers(f *flow.Flow) {
	var yamls []string
	for _, d := range f.Deployments {
		if d.Source != "" && d.Reload {
			e.watchDeployment(d)
			continue
		}
		if (d.Restart || d.Reload) && d.Config != nil && isFile(d.Config.File) {
			yamls = append(yamls, d.Config.File)
		}
		if d.Restart && d.Source != "" && isFile(d.Config.File) {
			yamls = append(yamls, d.Config.File)
		}
	}
	watchFlow := len(yamls) > 0
	for _, d := range f.Deployments {
		watchFlow = watchFlow || d.Restart
	}
	if watchFlow && isFile(f.File) {
		yamls = append(yamls, f.File)
	}
	if len(yamls) == 0 {
		return
	}
	w, err := watch.New(e.watchCtx, watch.Options{Paths: yamls})
	if err != nil {
		e.logger.Error("cannot watch the flow's YAML files; restart on change is off", "err", err)
		return
	}
	e.logger.Info("watching YAML for changes", "files", yamls)
	e.watchWG.Add(1)
	go func() {
		defer e.watchWG.Done()
		for files := range w.C {
			e.onYAMLChange(files)
		}
	}()
}

func isFile(p string) bool {
	if p == "" {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// onYAMLChange re-reads the flow (and with it every executor YAML) and
// reconciles. An invalid YAML is reported and the flow keeps running.
func (e *Engine) onYAMLChange(files []string) {
	cur := e.Flow()
	e.logger.Info("change in configuration YAML observed, reloading", "files", files)
	nf, err := flow.Load(cur.File)
	if err != nil {
		e.bus.Publish(events.Update{Time: time.Now(), Kind: events.Reconcile, Trigger: files, Outcome: events.Failure, Output: err.Error()})
		e.logger.Error("invalid YAML; the flow keeps running as it was", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(e.watchCtx, 5*time.Minute)
	defer cancel()
	if err := e.Reconcile(ctx, nf, files); err == nil {
		// Deployments that start reloading now need watchers.
		for _, d := range nf.Deployments {
			if d.Source != "" && d.Reload && cur.Deployment(d.Name) == nil {
				e.watchDeployment(d)
			}
		}
	}
}

// watchDeployment rebuilds and rolls a Go executor when its source changes.
func (e *Engine) watchDeployment(d *flow.Deployment) {
	if d.Source == "" {
		return
	}
	w, err := watch.New(e.watchCtx, watch.Options{Paths: []string{d.Source}, Match: watch.GoSource})
	if err != nil {
		e.logger.Error("cannot watch the executor's source; reload is off", "deployment", d.Name, "err", err)
		return
	}
	e.logger.Info("watching executor source for changes", "deployment", d.Name, "folder", d.Source)
	e.watchWG.Add(1)
	go func() {
		defer e.watchWG.Done()
		for files := range w.C {
			e.reloadSource(d.Name, files)
		}
	}()
}

// reloadSource rebuilds a Go executor and replaces its replicas one at a
// time. If the build fails, the old replicas keep serving and the
// compiler's output is published.
func (e *Engine) reloadSource(name string, files []string) {
	d, err := e.deployment(name)
	if err != nil {
		return // removed meanwhile
	}
	rel := make([]string, len(files))
	for i, f := range files {
		if r, err := filepath.Rel(d.cfg.Source, f); err == nil {
			rel[i] = r
		} else {
			rel[i] = f
		}
	}
	d.logger().Info("detected changes in: " + formatList(rel) + ". Refreshing the Executor")
	ctx, cancel := context.WithTimeout(e.watchCtx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := d.build(ctx, files)
	if err != nil {
		ev := events.Update{Time: time.Now(), Kind: events.Reload, Deployment: name, Trigger: files, Outcome: events.Failure, Duration: time.Since(start)}
		ev.Output = buildOutput(err)
		e.bus.Publish(ev)
		e.prom.Reloads.WithLabelValues(name, string(events.Reload), string(events.Failure)).Inc()
		d.logger().Error("build failed; the previous version keeps serving")
		return
	}
	d.mu.Lock()
	prev := d.binary
	d.binary = res.Binary
	d.mu.Unlock()
	if err := d.roll(ctx, events.Reload, files, d.cfg); err != nil {
		d.mu.Lock()
		d.binary = prev
		d.mu.Unlock()
	}
}

func formatList(items []string) string {
	out := "["
	for i, s := range items {
		if i > 0 {
			out += ", "
		}
		out += "'" + s + "'"
	}
	return out + "]"
}

// buildOutput is the compiler output of a failed build, or the error.
func buildOutput(err error) string {
	var be *build.Error
	if errors.As(err, &be) {
		return be.Output
	}
	return err.Error()
}
