package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/rawcodec"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// The stream benchmarks send 100-document requests (1 KiB texts) over one
// JinaRPC/Call stream with 64 in flight, as `jig bench`'s stream/100docs
// does, without an executor behind the gateway (its backend returns each
// request), so what they measure is the stream plumbing: the jig client
// and the gateway's Call against a raw grpc-go bidi echo. With -benchmem
// the allocations are per request, both ends together.
//
//	go test -run '^$' -bench Stream100Docs -benchmem ./engine/gateway/

const benchInflight = 64

type echoBackend struct{ *fakeBackend }

func (echoBackend) Route(_ context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return req, nil
}

func benchDocs() docarray.DocList {
	docs := make(docarray.DocList, 100)
	for i := range docs {
		docs[i] = &docarray.Document{ID: fmt.Sprint("doc-", i), Text: strings.Repeat("x", 1024)}
	}
	return docs
}

// serveBench serves s on 127.0.0.1:0 until the benchmark ends.
func serveBench(b *testing.B, s *grpc.Server) string {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve(lis)
	}()
	b.Cleanup(func() {
		s.Stop()
		<-served
	})
	return lis.Addr().String()
}

func serveGateway(b *testing.B) string {
	g := NewGRPC(echoBackend{newBackend()}, GRPCOptions{ServerOptions: wire.ServerOptions(wire.MaxMessageSize)})
	return serveBench(b, g.Server())
}

// BenchmarkStream100DocsClient: jig's client.Stream (encodes and decodes
// the documents) through the gateway's Call.
func BenchmarkStream100DocsClient(b *testing.B) {
	c, err := client.New("grpc://" + serveGateway(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	docs := benchDocs()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var seq iter.Seq[*docarray.Document] = func(yield func(*docarray.Document) bool) {
		for range b.N {
			for _, d := range docs {
				if !yield(d) {
					return
				}
			}
		}
	}
	n := 0
	for resp, err := range c.Stream(context.Background(), "/x", seq, client.RequestSize(len(docs)), client.Prefetch(benchInflight)) {
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.Docs) != len(docs) {
			b.Fatalf("answer has %d documents", len(resp.Docs))
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "req/s")
}

// rawEcho is a raw grpc-go JinaRPC server decoding and returning each
// request, one at a time (the baseline of jig bench's stream/100docs).
type rawEcho struct {
	jinapb.UnimplementedJinaRPCServer
}

func (rawEcho) Call(stream grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]) error {
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

// rawStream sends b.N copies of payload with benchInflight in flight on one
// Call stream to addr, with default grpc-go client options.
func rawStream(b *testing.B, addr string, payload []byte) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(rawcodec.CallOption(), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	stream, err := cc.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/jina.JinaRPC/Call")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	credit := make(chan struct{}, benchInflight)
	var wg sync.WaitGroup
	var recvErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range b.N {
			m := rawcodec.Msg{Keep: true}
			if recvErr = stream.RecvMsg(&m); recvErr != nil {
				return
			}
			<-credit
		}
	}()
	msg := &rawcodec.Msg{B: payload}
	for range b.N {
		credit <- struct{}{}
		if err := stream.SendMsg(msg); err != nil {
			b.Fatal(err)
		}
	}
	stream.CloseSend()
	wg.Wait()
	if recvErr != nil {
		b.Fatal(recvErr)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func benchPayload(b *testing.B) []byte {
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")},
		Data: &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: benchDocs().ToProto()}}}
	p, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkStream100DocsRawToGateway: pre-encoded requests on a raw
// grpc-go stream to the gateway's Call.
func BenchmarkStream100DocsRawToGateway(b *testing.B) {
	rawStream(b, serveGateway(b), benchPayload(b))
}

// BenchmarkStream100DocsRawBidi: the baseline, pre-encoded requests on a
// raw grpc-go stream to a raw grpc-go echo with default options.
func BenchmarkStream100DocsRawBidi(b *testing.B) {
	s := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	jinapb.RegisterJinaRPCServer(s, rawEcho{})
	addr := serveBench(b, s)
	rawStream(b, addr, benchPayload(b))
}
