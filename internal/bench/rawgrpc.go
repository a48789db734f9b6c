package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/internal/rawcodec"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/protobuf/proto"
)

// maxMsg is the message limit of every client and server here (jig's).
const maxMsg = wire.MaxMessageSize

const (
	methodSingle = "/jina.JinaSingleDataRequestRPC/process_single_data"
	methodCall   = "/jina.JinaRPC/Call"
)

// rawCall sends and receives already encoded messages (rawcodec.Msg):
// the load generators send the same bytes to every system, encoded once,
// and do not decode the answers.
var rawCall = rawcodec.CallOption()

// dial connects to a gRPC server with the same options for every system;
// extra adds credentials (a flow's replicas want its secret:
// engine.ReplicaDialOptions).
func dial(addr string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient(addr, append(wire.DialOptions(maxMsg, nil), extra...)...)
	if err != nil {
		return nil, err
	}
	cc.Connect()
	return cc, nil
}

// rawServer is the minimal grpc-go server of Jina's protocol: it answers
// every request with the request itself (decoded and encoded again by
// grpc-go's protobuf codec, nothing else).
type rawServer struct {
	jinapb.UnimplementedJinaSingleDataRequestRPCServer
	jinapb.UnimplementedJinaRPCServer
}

func (rawServer) ProcessSingleData(_ context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return req, nil
}

func (rawServer) Call(stream grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(req); err != nil {
			return err
		}
	}
}

// server is a running gRPC server and how to stop it.
type server struct {
	addr string
	stop func()
}

// startRaw starts a rawServer on 127.0.0.1:0.
func startRaw() (*server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// grpc-go's own protobuf codec, not jig's (which leaves documents
	// encoded): the baseline decodes and encodes every message.
	g := grpc.NewServer(append(wire.ServerOptions(maxMsg), grpc.ForceServerCodecV2(encoding.GetCodecV2(grpcproto.Name)))...)
	jinapb.RegisterJinaSingleDataRequestRPCServer(g, rawServer{})
	jinapb.RegisterJinaRPCServer(g, rawServer{})
	done := make(chan struct{})
	go func() { defer close(done); g.Serve(lis) }()
	return &server{addr: lis.Addr().String(), stop: func() { g.Stop(); <-done }}, nil
}

// startWorker serves a fresh instance of the built-in executor jtype with
// a bare worker (executors/worker.NewServer), as `jig executor` does.
func startWorker(ctx context.Context, jtype string) (*server, error) {
	inst, err := executors.New(ctx, executors.Spec{Config: &executors.Config{JType: jtype, File: "builtin:" + jtype}, Runtime: executors.RuntimeArgs{Name: "worker"}})
	if err != nil {
		return nil, err
	}
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		inst.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		inst.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(lis) }()
	return &server{addr: lis.Addr().String(), stop: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		<-done
		inst.Close()
	}}, nil
}

// checkUnary sends req once, decoded, and checks the answer succeeded and
// carries ndocs documents.
func checkUnary(ctx context.Context, cc *grpc.ClientConn, req *jinapb.DataRequestProto, ndocs int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(ctx, req, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	return checkResp(resp, ndocs)
}

func checkResp(resp *jinapb.DataRequestProto, ndocs int) error {
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
		return fmt.Errorf("answer has status %s: %s", st.GetCode(), st.GetDescription())
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		return err
	}
	if len(docs) != ndocs {
		return fmt.Errorf("answer has %d documents, want %d", len(docs), ndocs)
	}
	return nil
}

// unarySystem measures process_single_data calls of the same bytes, conc
// at a time.
func unarySystem(name string, cc *grpc.ClientConn, payload []byte, conc int) system {
	return system{name: name, run: func(ctx context.Context, d time.Duration) (sample, error) {
		s, err := closedLoop(ctx, conc, d, func(ctx context.Context) error {
			var out rawcodec.Msg
			return cc.Invoke(ctx, methodSingle, &rawcodec.Msg{B: payload}, &out, rawCall)
		})
		s.bytes = s.ops * int64(len(payload))
		return s, err
	}}
}

// rawStreamSystem sends the same bytes over one JinaRPC/Call stream,
// keeping inflight requests unanswered at most, for d; ops are answers.
func rawStreamSystem(name string, cc *grpc.ClientConn, payload []byte, inflight int) system {
	return system{name: name, run: func(ctx context.Context, d time.Duration) (sample, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := cc.NewStream(ctx, &grpc.StreamDesc{StreamName: "Call", ServerStreams: true, ClientStreams: true}, methodCall, rawCall)
		if err != nil {
			return sample{}, err
		}
		sem := make(chan struct{}, inflight)
		var got atomic.Int64
		var wg sync.WaitGroup
		var recvErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel() // the sender must not wait for answers that cannot come
			for {
				var m rawcodec.Msg
				if err := stream.RecvMsg(&m); err != nil {
					if !errors.Is(err, io.EOF) {
						recvErr = err
					}
					return
				}
				got.Add(1)
				<-sem
			}
		}()
		start := time.Now()
		deadline := start.Add(d)
		var sendErr error
		msg := &rawcodec.Msg{B: payload}
	send:
		for time.Now().Before(deadline) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break send
			}
			if err := stream.SendMsg(msg); err != nil {
				sendErr = err
				break
			}
		}
		stream.CloseSend()
		wg.Wait()
		elapsed := time.Since(start)
		if recvErr != nil {
			return sample{}, recvErr
		}
		if sendErr != nil && !errors.Is(sendErr, io.EOF) {
			return sample{}, sendErr
		}
		n := got.Load()
		return sample{ops: n, bytes: n * int64(len(payload)), elapsed: elapsed}, nil
	}}
}

func marshal(req *jinapb.DataRequestProto) []byte {
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err) // requests built here always encode
	}
	return b
}
