package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Deployment routes requests to the shards and replicas of one deployment.
type Deployment struct {
	// Name is the deployment name (routes, errors, parameters).
	Name string
	// Shards hold the replicas of each shard.
	Shards []*Pool
	// Polling chooses ANY or ALL shards per endpoint.
	Polling flow.PollingMap
	// When filters the documents the deployment receives.
	When *flow.Filter
	// Retries is how many other replicas a failed call is tried on.
	Retries int
	// TimeoutSend bounds each call (0: only the request's own deadline).
	TimeoutSend time.Duration
	// WaitReady bounds how long a request waits for a ready replica when
	// none is ready (replicas restarting).
	WaitReady time.Duration
	// Stats records every call (nil: not recorded).
	Stats *metrics.Recorder
	// Observe, when set, is called after every call with its outcome
	// ("ok", "error", "unavailable", "timeout") and latency.
	Observe func(outcome string, latency time.Duration)

	endpoints atomic.Pointer[endpointSet]
	writes    atomic.Pointer[writeSet]
	anyNext   atomic.Uint64
}

// SetWriteEndpoints records the deployment's write endpoints (from
// discovery), whose requests are sent to the replica that leads its RAFT
// shard when the targets tell (Target.Leader).
func (d *Deployment) SetWriteEndpoints(eps []string) {
	if len(eps) == 0 {
		d.writes.Store(nil)
		return
	}
	s := &writeSet{eps: make(map[string]bool, len(eps))}
	for _, e := range eps {
		s.eps[e] = true
	}
	d.writes.Store(s)
}

func (d *Deployment) isWrite(endpoint string) bool {
	s := d.writes.Load()
	return s != nil && s.eps[endpoint]
}

type endpointSet struct {
	all map[string]bool
}

// writeSet is the deployment's write endpoints (from discovery): they go
// to the RAFT leader first (see Target.Leader).
type writeSet struct {
	eps map[string]bool
}

// SetEndpoints records the endpoints the deployment serves (from
// discovery), so requests for others skip it. nil means unknown: send
// everything.
func (d *Deployment) SetEndpoints(eps []string) {
	if eps == nil {
		d.endpoints.Store(nil)
		return
	}
	s := &endpointSet{all: map[string]bool{}}
	for _, e := range eps {
		s.all[e] = true
	}
	d.endpoints.Store(s)
}

// Handles reports whether the deployment serves endpoint (its own handler
// or a default one), or whether that is unknown.
func (d *Deployment) Handles(endpoint string) bool {
	s := d.endpoints.Load()
	if s == nil {
		return true
	}
	return s.all[endpoint] || s.all[executors.DefaultEndpoint] || endpoint == executors.DryRunEndpoint
}

// Ready reports whether every shard has a ready replica.
func (d *Deployment) Ready() bool {
	for _, s := range d.Shards {
		if s.Ready() == 0 {
			return false
		}
	}
	return len(d.Shards) > 0
}

// Send delivers req to the deployment and returns its response. Transport
// failures (after retries) are gRPC status errors naming the deployment;
// executor failures come back as a response with an ERROR status.
func (d *Deployment) Send(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	var done func(bool)
	if d.Stats != nil {
		done = d.Stats.Begin()
	}
	start := time.Now()
	ctx, span := tracing.Deployment(ctx, d.Name)
	resp, err := d.send(ctx, req)
	span.EndResponse(resp, err)
	failed := err != nil || resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR
	if done != nil {
		done(failed)
	}
	if d.Observe != nil {
		d.Observe(outcome(err, failed), time.Since(start))
	}
	return resp, err
}

func (d *Deployment) send(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	switch {
	case len(d.Shards) == 1:
		return d.sendShard(ctx, 0, req)
	case d.Polling.For(executors.Endpoint(req)) == flow.All:
		return d.sendAll(ctx, req)
	}
	// ANY: rotate the first shard, fall back to the others if a shard has
	// no reachable replica.
	n := len(d.Shards)
	first := int(d.anyNext.Add(1) % uint64(n))
	var err error
	for i := 0; i < n; i++ {
		var resp *jinapb.DataRequestProto
		resp, err = d.sendShard(ctx, (first+i)%n, req)
		if err == nil || ctx.Err() != nil || status.Code(err) != codes.Unavailable {
			return resp, err
		}
	}
	return nil, err
}

// sendAll fans out to every shard and reduces the results: documents merged
// by id (the first shard wins, matches and chunks concatenated), results of
// all shards kept. Shards that cannot be reached are left out, unless all
// fail; an executor error of any shard fails the request.
func (d *Deployment) sendAll(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	n := len(d.Shards)
	resps := make([]*jinapb.DataRequestProto, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = d.sendShard(ctx, i, req)
		}()
	}
	wg.Wait()
	var ok []*jinapb.DataRequestProto
	for i, r := range resps {
		if errs[i] != nil {
			continue
		}
		if r.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
			return r, nil
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		return nil, errs[0]
	}
	return Reduce(req, ok)
}

// Reduce merges several responses to the same request (shards, or the
// inputs of a join) with wire.Merge: documents by id, __results__ of all,
// routes of all. A part whose documents do not decode is INTERNAL.
func Reduce(req *jinapb.DataRequestProto, parts []*jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	out, err := wire.Merge(req.GetParameters(), parts)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "reduce: %v", err)
	}
	return out, nil
}

// sendShard sends to one replica of shard i, retrying other replicas on
// transport failures and timeouts.
func (d *Deployment) sendShard(ctx context.Context, i int, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	pool := d.Shards[i]
	tried := map[*Target]bool{}
	var lastErr error
	var addrs []string
	write := d.isWrite(executors.Endpoint(req))
	for attempt := 0; attempt <= d.Retries; attempt++ {
		var t *Target
		if write {
			t = pool.pickLeader(tried)
		}
		if t == nil {
			t = pool.pick(tried)
		}
		if t == nil && len(tried) > 0 {
			clear(tried) // every ready replica failed once: try them again
			t = pool.pick(tried)
		}
		if t == nil && d.WaitReady > 0 {
			t = pool.waitReady(ctx, tried, d.WaitReady)
		}
		if t == nil {
			break
		}
		tried[t] = true
		if !slices.Contains(addrs, t.Address) {
			// Retries on the same replica name it once in the error.
			addrs = append(addrs, t.Address)
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if d.TimeoutSend > 0 {
			actx, cancel = context.WithTimeout(ctx, d.TimeoutSend)
		}
		t.outstanding.Add(1)
		actx, span := tracing.Call(actx, d.Name, i, t.Name, t.Address, attempt)
		resp, err := t.Conn.Process(actx, req)
		span.EndResponse(resp, err)
		t.outstanding.Add(-1)
		cancel()
		if err == nil {
			served(ctx, d.Name, t.Name)
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		code := status.Code(err)
		switch code {
		case codes.Unavailable, codes.Aborted:
		case codes.DeadlineExceeded:
			// Our own timeout_send fired: avoid this replica for a while,
			// it may be paused or overloaded.
			t.penalty.Store(time.Now().Add(max(d.TimeoutSend, time.Second)).UnixNano())
		default:
			return nil, err
		}
		lastErr = err
	}
	return nil, d.commError(lastErr, i, addrs)
}

// commError describes a failed delivery the way Jina's gateway does, naming
// the deployment and the addresses tried.
func (d *Deployment) commError(err error, shard int, addrs []string) error {
	where := d.Name
	if len(d.Shards) > 1 {
		where = fmt.Sprintf("%s (shard %d)", d.Name, shard)
	}
	if err == nil {
		return status.Errorf(codes.Unavailable, "no ready replica of deployment %s: all replicas are down or starting", where)
	}
	st, _ := status.FromError(err)
	if st.Code() == codes.DeadlineExceeded {
		return status.Errorf(codes.DeadlineExceeded, "%s |Gateway: Connection with deployment %s at address(es) [%s] could be established, but timed out. You can increase the allowed time by setting `timeout_send` in ms", st.Message(), where, strings.Join(addrs, ", "))
	}
	return status.Errorf(codes.Unavailable, "%s |Gateway: Communication error with deployment %s at address(es) [%s]. Head or worker(s) may be down.", st.Message(), where, strings.Join(addrs, ", "))
}

// IsTransport reports whether err is a delivery failure (as opposed to an
// executor's error status).
func IsTransport(err error) bool {
	var se interface{ GRPCStatus() *status.Status }
	return errors.As(err, &se)
}

// outcome names how a call to a deployment ended, for Observe: a deadline
// is "timeout", any other transport error "unavailable", an executor's
// ERROR status "error".
func outcome(err error, failed bool) string {
	switch {
	case status.Code(err) == codes.DeadlineExceeded:
		return "timeout"
	case err != nil:
		return "unavailable"
	case failed:
		return "error"
	}
	return "ok"
}
