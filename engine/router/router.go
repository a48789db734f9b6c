package router

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Router walks requests through a flow's topology.
type Router struct {
	graph  *flow.Graph
	deps   map[string]*Deployment
	linear bool
	// Stats records whole requests (gateway level).
	stats  *metrics.Recorder
	logger *slog.Logger

	targets sync.Map // target_executor pattern -> *regexp.Regexp

	// floating work outlives the request that started it; Close waits.
	floatCtx    context.Context
	floatCancel context.CancelFunc
	floating    sync.WaitGroup

	// inflight counts requests in Route, so that a flow change can let
	// the requests routed by the previous router finish before it stops
	// the deployments they may still reach.
	inflight inflight

	// AccessLog, when set before the router is used, is called once per
	// routed request with its access-log record (the engine rate-limits
	// and publishes them). It must not block.
	AccessLog func(events.Access)
}

// servedBy collects the replicas that answered one request, for the
// access log; shards of one deployment answer concurrently.
type servedBy struct {
	mu    sync.Mutex
	names []string
}

type servedByKey struct{}

// served records that replica of deployment dep answered the request
// ctx belongs to (a no-op without an access log).
func served(ctx context.Context, dep, replica string) {
	if s, ok := ctx.Value(servedByKey{}).(*servedBy); ok {
		s.mu.Lock()
		s.names = append(s.names, dep+"/"+replica)
		s.mu.Unlock()
	}
}

// New returns a router over graph; deps must hold a Deployment per node.
func New(graph *flow.Graph, deps map[string]*Deployment, stats *metrics.Recorder, logger *slog.Logger) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Router{graph: graph, deps: deps, linear: graph.Linear(), stats: stats, logger: logger, floatCtx: ctx, floatCancel: cancel}
}

// Deployment returns the routing state of a deployment.
func (r *Router) Deployment(name string) *Deployment { return r.deps[name] }

// Close waits for floating work to finish (at most until ctx ends, then it
// is cancelled).
func (r *Router) Close(ctx context.Context) {
	done := make(chan struct{})
	go func() { r.floating.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.floatCancel()
		<-done
	}
	r.floatCancel()
}

// Drain waits until no request is in Route (floating work aside), or ctx
// ends. Callers stop routing new requests here first (a new router).
func (r *Router) Drain(ctx context.Context) error {
	return r.inflight.wait(ctx)
}

// Route sends req through the flow and returns the response: the output
// deployment's documents, the routes taken (with timings) and the
// executors' results. An executor error stops the request and comes back
// as a response with an ERROR status; a delivery failure as a gRPC error
// (UNAVAILABLE or DEADLINE_EXCEEDED) naming the deployment.
func (r *Router) Route(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	r.inflight.begin()
	defer r.inflight.end()
	var done func(bool)
	if r.stats != nil {
		done = r.stats.Begin()
	}
	start := time.Now()
	var sb *servedBy
	if r.AccessLog != nil {
		sb = &servedBy{}
		ctx = context.WithValue(ctx, servedByKey{}, sb)
	}
	resp, err := r.route(ctx, req)
	if done != nil {
		done(err != nil || resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR)
	}
	if sb != nil {
		r.access(req, resp, err, start, sb)
	}
	if err != nil {
		return nil, err
	}
	gw := &jinapb.RouteProto{Executor: "gateway", StartTime: timestamppb.New(start), EndTime: timestamppb.Now()}
	out := &jinapb.DataRequestProto{Header: resp.Header, Parameters: resp.Parameters, Data: resp.Data, Routes: make([]*jinapb.RouteProto, 0, len(resp.Routes)+1)}
	out.Routes = append(append(out.Routes, gw), resp.Routes...)
	if out.Header == nil || out.Header.RequestId != req.GetHeader().GetRequestId() {
		h := &jinapb.HeaderProto{}
		if out.Header != nil {
			*h = jinapb.HeaderProto{Status: out.Header.Status, ExecEndpoint: out.Header.ExecEndpoint, TargetExecutor: out.Header.TargetExecutor, Timeout: out.Header.Timeout}
		}
		h.RequestId = req.GetHeader().GetRequestId()
		out.Header = h
	}
	return out, nil
}

func (r *Router) route(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	target, err := r.targetPattern(req.GetHeader().GetTargetExecutor())
	if err != nil {
		return nil, err
	}
	w := &walk{r: r, endpoint: executors.Endpoint(req), target: target, params: req.GetParameters()}
	if r.linear {
		cur := req
		for _, name := range r.graph.Order {
			if cur, err = w.node(ctx, name, cur); err != nil || failed(cur) {
				return cur, err
			}
		}
		return cur, nil
	}
	return w.dag(ctx, req)
}

// targetPattern compiles target_executor once per distinct pattern. Like
// Jina's re.match, the pattern must match at the start of the name.
func (r *Router) targetPattern(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	if re, ok := r.targets.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile("^(?:" + p + ")")
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "target_executor %q is not a valid regular expression: %v", p, err)
	}
	r.targets.Store(p, re)
	return re, nil
}

func failed(resp *jinapb.DataRequestProto) bool {
	return resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR
}

// walk is the state of one request going through the flow.
type walk struct {
	r        *Router
	endpoint string
	target   *regexp.Regexp
	params   *structpb.Struct // the client's parameters
}

// node sends in to deployment name unless the request skips it, and
// returns what the next deployment gets.
func (w *walk) node(ctx context.Context, name string, in *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	d := w.r.deps[name]
	if w.target != nil && !w.target.MatchString(name) {
		return in, nil
	}
	if !d.Handles(w.endpoint) {
		return in, nil
	}
	req := in
	if d.When != nil {
		// Documents still encoded are decoded only as far as the filter
		// reads, and the kept ones forwarded as they came.
		filtered, ok, err := wire.FilterDocs(in, d.When.Fields(), d.When.Match)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "decode documents for %s: %v", name, err)
		}
		req = filtered
		if !ok {
			docs, err := executors.RequestDocs(in)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "decode documents for %s: %v", name, err)
			}
			req = wire.Shallow(in)
			if err := executors.SetRequestDocs(req, d.When.Apply(docs)); err != nil {
				return nil, status.Errorf(codes.Internal, "encode documents for %s: %v", name, err)
			}
		}
	}
	// Each deployment gets the client's parameters resolved for it (Jina's
	// gateway does this, not the worker): results of earlier executors
	// are not sent, they are collected here.
	if sent := SpecificParams(w.params, name); sent != req.GetParameters() {
		if req == in {
			req = wire.Shallow(in)
		}
		req.Parameters = sent
	}
	start := time.Now()
	resp, err := d.Send(ctx, req)
	if err != nil {
		return nil, err
	}
	route := &jinapb.RouteProto{Executor: name, StartTime: timestamppb.New(start), EndTime: timestamppb.Now()}
	if failed(resp) {
		route.Status = resp.GetHeader().GetStatus()
	}
	out := wire.Shallow(resp)
	out.Routes = append(append(make([]*jinapb.RouteProto, 0, len(in.Routes)+1), in.Routes...), route)
	out.Parameters = w.nextParams(overlayResults(resultsOf(in.GetParameters()), resultsOf(resp.GetParameters())))
	return out, nil
}

// resultsOf returns parameters[__results__] as a struct (nil when absent).
func resultsOf(p *structpb.Struct) *structpb.Struct {
	return p.GetFields()[executors.ResultsKey].GetStructValue()
}

// overlayResults returns the results in a overlaid with those in b (an
// executor's own entry replaces an earlier one of the same name).
func overlayResults(a, b *structpb.Struct) *structpb.Struct {
	if len(b.GetFields()) == 0 {
		return a
	}
	if len(a.GetFields()) == 0 {
		return b
	}
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(a.Fields)+len(b.Fields))}
	for k, v := range a.Fields {
		out.Fields[k] = v
	}
	for k, v := range b.Fields {
		out.Fields[k] = v
	}
	return out
}

// nextParams is what travels on to the next deployment and, at the end,
// back to the client: the client's parameters unchanged (an executor
// cannot change what others see) plus every result so far, as Jina's
// gateway answers (request_input_parameters + __results__).
func (w *walk) nextParams(res *structpb.Struct) *structpb.Struct {
	if len(res.GetFields()) == 0 {
		return w.params
	}
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(w.params.GetFields())+1)}
	for k, v := range w.params.GetFields() {
		out.Fields[k] = v
	}
	out.Fields[executors.ResultsKey] = structpb.NewStructValue(res)
	return out
}

// result is the outcome of one node of the DAG.
type result struct {
	done chan struct{}
	resp *jinapb.DataRequestProto
	err  error
}

// dag runs every deployment as soon as all it needs are done; branches
// run in parallel; floating deployments are not awaited.
func (w *walk) dag(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	g := w.r.graph
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(map[string]*result, len(g.Order))
	for _, n := range g.Order {
		results[n] = &result{done: make(chan struct{})}
	}
	// Floating deployments and what only they need run detached from the
	// request, so the response does not wait for them.
	awaited := map[string]bool{g.Output: true}
	for _, u := range g.Upstream(g.Output) {
		awaited[u] = true
	}
	// The first failure of an awaited deployment ends the request at once,
	// without waiting for slower sibling branches.
	var (
		failOnce  sync.Once
		firstFail *result
		failc     = make(chan struct{})
	)
	var wg sync.WaitGroup
	for _, name := range g.Order {
		res := results[name]
		run := func(ctx context.Context) {
			defer func() {
				if awaited[name] && (res.err != nil || failed(res.resp)) {
					failOnce.Do(func() { firstFail = res; close(failc) })
				}
				close(res.done)
			}()
			parts := make([]*jinapb.DataRequestProto, 0, len(g.Needs[name]))
			for _, p := range g.Needs[name] {
				if p == flow.GatewayName {
					parts = append(parts, req)
					continue
				}
				pr := results[p]
				select {
				case <-pr.done:
				case <-ctx.Done():
					res.err = status.FromContextError(ctx.Err()).Err()
					return
				}
				if pr.err != nil || failed(pr.resp) {
					res.resp, res.err = pr.resp, pr.err // propagate the first failure
					return
				}
				parts = append(parts, pr.resp)
			}
			in := parts[0]
			if len(parts) > 1 {
				merged, err := Reduce(req, parts)
				if err != nil {
					res.err = err
					return
				}
				in = merged
				in.Parameters = w.nextParams(resultsOf(merged.Parameters))
			}
			res.resp, res.err = w.node(ctx, name, in)
			if !awaited[name] && (res.err != nil || failed(res.resp)) {
				w.r.logger.Warn("floating deployment failed", "deployment", name, "err", res.err, "status", res.resp.GetHeader().GetStatus().GetDescription())
			}
		}
		if awaited[name] {
			wg.Add(1)
			go func() { defer wg.Done(); run(ctx) }()
			continue
		}
		w.r.floating.Add(1)
		go func() { defer w.r.floating.Done(); run(w.r.floatCtx) }()
	}
	// Every awaited deployment is upstream of the output, so the output's
	// result carries the first failure of any of them.
	out := results[g.Output]
	select {
	case <-out.done:
	case <-failc:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	if firstFail != nil {
		return firstFail.resp, firstFail.err
	}
	if out.resp == nil && out.err == nil {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return out.resp, out.err
}

// access reports one routed request to AccessLog.
func (r *Router) access(req, resp *jinapb.DataRequestProto, err error, start time.Time, sb *servedBy) {
	a := events.Access{
		Time: time.Now(), Endpoint: executors.Endpoint(req), RequestID: req.GetHeader().GetRequestId(),
		Docs: wire.DocCount(req), Latency: time.Since(start), Status: "ok",
	}
	switch {
	case err != nil:
		a.Status = strings.ToLower(status.Code(err).String())
	case failed(resp):
		a.Status = "error"
	}
	if resp != nil {
		a.DocsOut = wire.DocCount(resp)
	}
	sb.mu.Lock()
	a.Replicas = sb.names
	sb.mu.Unlock()
	r.AccessLog(a)
}
