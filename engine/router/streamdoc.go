package router

import (
	"context"
	"time"

	"github.com/jig-dev/jig/engine/replica"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// StreamDoc forwards a stream_doc request (one document to a generator
// endpoint) to one replica of the deployment — of one shard, rotating, like
// polling ANY: a generator answers one document — and calls send with each
// item as the replica yields it. A replica that cannot be reached is
// replaced by another one (Retries) as long as no item was forwarded yet;
// after that a failure ends the stream, since the items cannot be taken
// back. Errors are gRPC status errors naming the deployment, or send's.
func (d *Deployment) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	var done func(bool)
	if d.Stats != nil {
		done = d.Stats.Begin()
	}
	start := time.Now()
	failed := false
	counted := func(item *jinapb.SingleDocumentRequestProto) error {
		if item.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
			failed = true
		}
		return send(item)
	}
	err := d.streamDoc(ctx, req, counted)
	if done != nil {
		done(failed || err != nil)
	}
	if d.Observe != nil {
		d.Observe(outcome(err, failed), time.Since(start))
	}
	return err
}

func (d *Deployment) streamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	n := len(d.Shards)
	if n == 0 {
		return status.Errorf(codes.Unavailable, "deployment %s has no replicas", d.Name)
	}
	first := int(d.anyNext.Add(1) % uint64(n))
	var err error
	for i := 0; i < n; i++ {
		var sent bool
		err = d.streamShard(ctx, (first+i)%n, req, send, &sent)
		if err == nil || sent || ctx.Err() != nil || status.Code(err) != codes.Unavailable {
			return err
		}
	}
	return err
}

// streamShard streams from one replica of shard i; *sent tells whether an
// item reached send (no retry after that).
func (d *Deployment) streamShard(ctx context.Context, i int, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error, sent *bool) error {
	pool := d.Shards[i]
	tried := map[*Target]bool{}
	var lastErr error
	var addrs []string
	var sendErr error
	forward := func(item *jinapb.SingleDocumentRequestProto) error {
		*sent = true
		sendErr = send(item)
		return sendErr
	}
	for attempt := 0; attempt <= d.Retries; attempt++ {
		t := pool.pick(tried)
		if t == nil && d.WaitReady > 0 {
			t = pool.waitReady(ctx, tried, d.WaitReady)
		}
		if t == nil {
			break
		}
		tried[t] = true
		addrs = append(addrs, t.Address)
		sc, ok := t.Conn.(replica.StreamConn)
		if !ok {
			return status.Errorf(codes.Unimplemented, "deployment %s: replica %s cannot stream documents", d.Name, t.Name)
		}
		// timeout_send bounds calls that answer once; a stream lasts as
		// long as its generator, so only the request's own deadline applies.
		t.outstanding.Add(1)
		err := sc.StreamDoc(ctx, req, forward)
		t.outstanding.Add(-1)
		switch {
		case err == nil:
			return nil
		case sendErr != nil:
			return sendErr
		case ctx.Err() != nil:
			return status.FromContextError(ctx.Err()).Err()
		case *sent:
			return d.commError(err, i, addrs)
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.Aborted:
		default:
			return err
		}
		lastErr = err
	}
	return d.commError(lastErr, i, addrs)
}

// Hold counts a stream the gateway forwards outside Route (stream_doc) as
// a request in flight until release is called, so that Drain waits for it
// before a flow change stops the deployment it reads from.
func (r *Router) Hold() (release func()) {
	r.inflight.begin()
	return r.inflight.end
}
