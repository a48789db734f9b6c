package consensus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// HopsMetadataKey is the gRPC metadata key carrying how many times a
// request has been forwarded between members. A request with a hop count
// is always handled with leader semantics: a write is applied only by the
// leader, a read is a leader read.
const HopsMetadataKey = "jig-raft-hops"

// Forwarder sends a request to the leader's worker. hops is the hop count
// the receiver must see (1 for the first forward); the receiver hands the
// request to its own Node (ApplyWrite for writes, Read for reads), which
// reads the count with HopsFromContext.
//
// The default, GRPCForwarder, calls process_single_data on
// leader.WorkerAddr. Tests and in-process setups may route to a Node
// directly: call ApplyWrite or Read with ContextWithHops(ctx, hops).
type Forwarder interface {
	Forward(ctx context.Context, leader Peer, req *jinapb.DataRequestProto, hops int) (*jinapb.DataRequestProto, error)
}

type hopsKey struct{}

// ContextWithHops marks ctx as carrying a request forwarded hops times,
// for forwarders that call a Node in the same process.
func ContextWithHops(ctx context.Context, hops int) context.Context {
	return context.WithValue(ctx, hopsKey{}, hops)
}

// HopsFromContext returns the hop count of a request: the value set by
// ContextWithHops, else the incoming gRPC metadata HopsMetadataKey, else 0.
// Malformed metadata counts as the maximum seen so far, never as 0, so a
// garbled header cannot restart the hop budget.
func HopsFromContext(ctx context.Context) int {
	if h, ok := ctx.Value(hopsKey{}).(int); ok {
		return h
	}
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return 0
	}
	hops := 0
	for _, v := range md.Get(HopsMetadataKey) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			n = 1 << 20
		}
		hops = max(hops, n)
	}
	return hops
}

// GRPCForwarder forwards requests to the leader's worker over gRPC, with
// one cached connection per worker address. It is safe for concurrent use.
type GRPCForwarder struct {
	opts []grpc.DialOption

	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	closed bool
}

// NewGRPCForwarder returns a forwarder dialling workers with insecure
// credentials (loopback; pass grpc.WithTransportCredentials to override),
// jig's message limits and codec (wire) and any further opts.
func NewGRPCForwarder(opts ...grpc.DialOption) *GRPCForwarder {
	base := append(wire.DialOptions(wire.MaxMessageSize, nil), wire.WithCodec())
	return &GRPCForwarder{opts: append(base, opts...), conns: map[string]*grpc.ClientConn{}}
}

var errForwarderClosed = errors.New("consensus: forwarder closed")

func (f *GRPCForwarder) conn(addr string) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errForwarderClosed
	}
	if c, ok := f.conns[addr]; ok {
		return c, nil
	}
	// passthrough: the address is host:port, no name resolution wanted.
	c, err := grpc.NewClient("passthrough:///"+addr, f.opts...)
	if err != nil {
		return nil, err
	}
	f.conns[addr] = c
	return c, nil
}

// Forward calls jina.JinaSingleDataRequestRPC/process_single_data on the
// leader's worker with the hop count in the metadata. Errors are the
// remote's gRPC status errors.
func (f *GRPCForwarder) Forward(ctx context.Context, leader Peer, req *jinapb.DataRequestProto, hops int) (*jinapb.DataRequestProto, error) {
	if leader.WorkerAddr == "" {
		return nil, status.Errorf(codes.Unavailable, "%v: no worker address for member %s", ErrUnknownPeer, leader.ID)
	}
	c, err := f.conn(leader.WorkerAddr)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(HopsMetadataKey, strconv.Itoa(hops))
	tracing.InjectMD(ctx, md)
	return jinapb.NewJinaSingleDataRequestRPCClient(c).ProcessSingleData(metadata.NewOutgoingContext(ctx, md), req)
}

// Close closes every cached connection; later Forward calls fail.
func (f *GRPCForwarder) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var errs []error
	for addr, c := range f.conns {
		errs = append(errs, c.Close())
		delete(f.conns, addr)
	}
	return errors.Join(errs...)
}

// notDelivered reports whether a forward failed before the request reached
// the remote member, so it was certainly not applied: the remote said so
// (NotApplied), or the connection could not be established. grpc-go gives
// no typed error for the latter; its "while dialing" / "connection
// refused" messages have been stable for years, and a miss only means the
// error goes back to the caller instead of being retried here.
func notDelivered(err error) bool {
	if NotApplied(err) {
		return true
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return false
	}
	msg := st.Message()
	return strings.Contains(msg, "while dialing") || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, ErrUnknownPeer.Error()) || strings.Contains(msg, errForwarderClosed.Error())
}

// route runs local on the leader, or forwards req to the leader. A node
// that received a forwarded request (hops > 0) forwards it at most once
// more and never retries. The node where the request entered retries when
// retry says the failure is safe to retry (the request was not applied),
// after waiting for a different leader: up to MaxForwardHops times when a
// member answered (it was not the leader any more, or the hops ran out),
// and for up to LeaderWaitTimeout while the leader cannot be reached at
// all, which is what a dead leader looks like until the followers notice
// and elect another: the caller should not have to retry an election.
func (n *Node) route(ctx context.Context, req *jinapb.DataRequestProto, forwarded *atomic.Uint64,
	retry func(error) bool, local func(context.Context) (*jinapb.DataRequestProto, error)) (*jinapb.DataRequestProto, error) {
	if n.closed.Load() {
		return nil, ErrShutdown
	}
	hops := HopsFromContext(ctx)
	attempts := 1
	if hops == 0 {
		attempts = n.cfg.MaxForwardHops
	}
	var (
		lastErr     error
		avoid       string
		unreachable time.Time // when the wait for a reachable leader ends
	)
	for attempt := 0; attempt < attempts; {
		leader, err := n.waitLeader(ctx, avoid)
		if err != nil {
			if lastErr != nil {
				return nil, fmt.Errorf("%w (after: %w)", err, lastErr)
			}
			return nil, err
		}
		if leader.ID == n.id {
			resp, err := local(ctx)
			if err == nil {
				return resp, nil
			}
			// raft refused before appending: safe to send elsewhere.
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
				lastErr, avoid = err, n.id
				attempt++
				continue
			}
			return nil, err
		}
		if hops >= n.cfg.MaxForwardHops {
			return nil, fmt.Errorf("%w: %d hops; leader is %s as seen by %s", ErrTooManyHops, hops, leader.ID, n.id)
		}
		forwarded.Add(1)
		fctx, span := tracing.Raft(ctx, "raft.forward")
		span.String(tracing.AttrRaftLeader, string(leader.ID))
		resp, err := n.forwarder.Forward(fctx, leader, req, hops+1)
		span.End(err)
		if err == nil {
			return resp, nil
		}
		lastErr = remoteError(leader, err)
		if !retry(err) || ctx.Err() != nil || hops > 0 {
			return nil, lastErr
		}
		n.logger.Debug("forward failed; retrying", "leader", leader.ID, "err", err)
		avoid = leader.ID
		if NotApplied(err) {
			attempt++ // a member answered: count it against the hops
			continue
		}
		if unreachable.IsZero() {
			unreachable = time.Now().Add(n.cfg.LeaderWaitTimeout)
		} else if time.Now().After(unreachable) {
			return nil, lastErr
		}
	}
	return nil, lastErr
}
