package engine

import (
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/tracing"
	// jig always links the tracing SDK (its init installs the provider
	// constructor tracing.Setup uses); executor binaries only with
	// -tags jig_tracing.
	_ "github.com/jig-dev/jig/internal/tracing/tracingsdk"
)

// tracingConfig is the engine process's tracing: the flow's `with:`
// tracing keys, plus the in-process recorder and exporter of Options.
func (e *Engine) tracingConfig(f *flow.Flow) tracing.Config {
	t := f.Gateway.Tracing
	return tracing.Config{
		Tracing:      t.Enabled || e.opts.TraceExporter != nil,
		ExporterHost: t.ExporterHost,
		ExporterPort: t.ExporterPort,
		Service:      f.Name,
		Exporter:     e.opts.TraceExporter,
		Recorder:     e.opts.Traces,
		NoExport:     !t.Enabled && e.opts.TraceExporter == nil,
	}
}

// Traces returns the recorder of the requests' spans (nil unless
// Options.Traces was set).
func (e *Engine) Traces() *tracing.Recorder { return e.opts.Traces }
