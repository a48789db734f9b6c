package engine

import (
	"context"

	"regexp"
	"slices"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// StreamDoc implements gateway.StreamBackend: a stream_doc request (one
// document to a generator endpoint) goes to one deployment, and each
// document it yields reaches send as it is produced. Like Jina's gateway,
// which streams to the first executor of the flow only, a generator is not
// chained with other executors; jig picks the deployment that serves the
// endpoint as a generator (the first in flow order, or the first matching
// target_executor), else the first that handles the endpoint at all (its
// worker then answers "endpoint must be generator").
func (e *Engine) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	start := time.Now()
	name, err := e.streamTarget(req.GetHeader().GetExecEndpoint(), req.GetHeader().GetTargetExecutor())
	if err != nil {
		return err
	}
	d, err := e.deployment(name)
	if err != nil {
		return status.Error(codes.Unavailable, err.Error())
	}
	route := d.route.Load()
	if rt := e.router.Load(); rt != nil {
		// A flow change drains the router's requests before it stops
		// deployments: count this stream among them.
		defer rt.Hold()()
		if rd := rt.Deployment(name); rd != nil {
			route = rd
		}
	}
	first := true
	err = route.StreamDoc(ctx, req, func(item *jinapb.SingleDocumentRequestProto) error {
		if first {
			// The first item tells how long the generator took to start,
			// the figure the gateway latency of a stream means.
			first = false
			e.prom.Latency.WithLabelValues("gateway").Observe(time.Since(start).Seconds())
		}
		if item.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR && len(item.GetRoutes()) == 0 {
			item.Routes = []*jinapb.RouteProto{{Executor: "gateway", StartTime: timestamppb.New(start), EndTime: timestamppb.Now()}}
		}
		return send(item)
	})
	return err
}

// IsGenerator implements gateway.StreamBackend: whether some deployment
// serves endpoint with a generator handler (discovery's is_generator).
func (e *Engine) IsGenerator(endpoint string) bool {
	for _, d := range e.sortedDeps() {
		if generatorIn(d.discovered(), endpoint) {
			return true
		}
	}
	return false
}

// streamTarget chooses the deployment a stream_doc request goes to.
func (e *Engine) streamTarget(endpoint, target string) (string, error) {
	if endpoint == "" {
		endpoint = executors.DefaultEndpoint
	}
	var re *regexp.Regexp
	if target != "" {
		var err error
		if re, err = regexp.Compile(target); err != nil {
			return "", status.Errorf(codes.InvalidArgument, "target_executor %q: %v", target, err)
		}
	}
	deps := e.sortedDeps()
	var handles string
	for _, d := range deps {
		name := d.cfg.Name
		if re != nil {
			// Like Jina's re.match: the pattern must match at the start.
			if loc := re.FindStringIndex(name); loc == nil || loc[0] != 0 {
				continue
			}
		}
		eps := d.discovered()
		if generatorIn(eps, endpoint) {
			return name, nil
		}
		if handles == "" && (eps == nil || d.route.Load().Handles(endpoint)) {
			handles = name
		}
	}
	if handles != "" {
		return handles, nil
	}
	if re != nil {
		return "", status.Errorf(codes.NotFound, "no deployment matches target_executor %q", target)
	}
	if len(deps) == 0 {
		return "", status.Error(codes.Unavailable, "the flow has no deployments")
	}
	return "", status.Errorf(codes.NotFound, "no deployment serves endpoint %s", endpoint)
}

// generatorIn reports whether discovery says endpoint (or the default
// endpoint serving it) is a generator: schemas[ep].is_generator.
func generatorIn(eps *jinapb.EndpointsProto, endpoint string) bool {
	if eps == nil {
		return false
	}
	key := endpoint
	if !slices.Contains(eps.GetEndpoints(), key) {
		if key = executors.DefaultEndpoint; !slices.Contains(eps.GetEndpoints(), key) {
			return false
		}
	}
	entry := eps.GetSchemas().GetFields()[key].GetStructValue()
	return entry.GetFields()["is_generator"].GetBoolValue()
}

// withGenerators marks the generator endpoints of the flow in res's
// schemas (is_generator and is_singleton_doc true, as Jina publishes them),
// adding an entry where discovery gave none, so clients of the gateway's
// endpoint_discovery (Jina's gateway and client, the TUI) know to use
// stream_doc for them.
func (e *Engine) withGenerators(res *jinapb.EndpointsProto) *jinapb.EndpointsProto {
	for _, ep := range res.GetEndpoints() {
		if !e.IsGenerator(ep) {
			continue
		}
		if res.Schemas == nil {
			res.Schemas = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		}
		entry := res.Schemas.Fields[ep].GetStructValue()
		if entry == nil {
			entry = &structpb.Struct{Fields: map[string]*structpb.Value{}}
			res.Schemas.Fields[ep] = structpb.NewStructValue(entry)
		}
		entry.Fields["is_generator"] = structpb.NewBoolValue(true)
		entry.Fields["is_singleton_doc"] = structpb.NewBoolValue(true)
	}
	return res
}
