//go:build jig_tracing

package workercmd

// Built with -tags jig_tracing (workerflags.TracingBuildTag): this
// binary's workers can export spans (--tracing). Linking tracingsdk
// installs the SDK's provider constructor into internal/tracing.
import _ "github.com/jig-dev/jig/internal/tracing/tracingsdk"
