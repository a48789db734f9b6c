package consensus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// jig.RaftAdmin/Watch (Empty -> stream Struct, an Event as JSON) pushes a
// node's RAFT state: first its state now, then one message per leadership
// or state change, until the caller cancels or the node shuts down
// (UNAVAILABLE). The engine follows its child-process replicas with it
// instead of polling their Stats; in-process replicas use Subscribe.
var adminStreams = []grpc.StreamDesc{{
	StreamName:    "Watch",
	ServerStreams: true,
	Handler: func(srv any, stream grpc.ServerStream) error {
		if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
			return err
		}
		return srv.(*adminServer).watch(stream)
	},
}}

func (a *adminServer) watch(stream grpc.ServerStream) error {
	evs, cancel := a.n.Subscribe(64)
	defer cancel()
	// Subscribed first, so no change between the two is missed.
	if err := sendEvent(stream, a.n.Current()); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-a.n.watches.done():
			return status.Error(codes.Unavailable, "replica stopping")
		case ev, ok := <-evs:
			if !ok {
				return status.Error(codes.Unavailable, "raft node shut down")
			}
			if err := sendEvent(stream, ev); err != nil {
				return err
			}
		}
	}
}

// watchStop ends a node's Watch streams when its server starts to stop:
// a graceful stop waits for open streams, and these never end by
// themselves.
type watchStop struct {
	init, stop sync.Once
	ch         chan struct{}
}

func (w *watchStop) done() <-chan struct{} {
	w.init.Do(func() { w.ch = make(chan struct{}) })
	return w.ch
}

// ServerStopping ends the node's Watch streams (and refuses new ones): the
// worker serving the admin service calls it when it begins to stop.
func (n *Node) ServerStopping() {
	n.watches.done()
	n.watches.stop.Do(func() { close(n.watches.ch) })
}

func sendEvent(stream grpc.ServerStream, ev Event) error {
	m, err := toStruct(ev)
	if err != nil {
		return err
	}
	return stream.SendMsg(m)
}

// Current is the node's RAFT state now, as an Event: what a subscriber
// starts from before the changes Subscribe reports.
func (n *Node) Current() Event {
	ev := Event{Time: time.Now(), Node: n.id, State: n.raft.State().String(), Term: n.raft.CurrentTerm()}
	if p, ok := n.currentLeader(); ok {
		ev.Leader = p
	}
	return ev
}

// Watch follows the replica's RAFT state (see jig.RaftAdmin/Watch): fn
// gets its state now, then every change, in order. It returns when ctx
// ends or the stream breaks (the replica stopped or restarted), with that
// error.
func (c *AdminClient) Watch(ctx context.Context, fn func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, &adminStreams[0], "/"+adminService+"/Watch")
	if err != nil {
		return err
	}
	if err := s.SendMsg(&emptypb.Empty{}); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		out := &structpb.Struct{}
		if err := s.RecvMsg(out); err != nil {
			return err
		}
		b, err := out.MarshalJSON()
		if err != nil {
			return fmt.Errorf("decode raft event: %w", err)
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return fmt.Errorf("decode raft event: %w", err)
		}
		fn(ev)
	}
}
