package client_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// plainGateway is a JinaRPC server on grpc-go's own codec, as a Jina
// gateway decodes: it records the documents of each request as they
// arrived and answers them in the docs form, each text with "!" added.
type plainGateway struct {
	jinapb.UnimplementedJinaRPCServer
	mu   sync.Mutex
	got  []*docarraypb.DocListProto
	form []string
}

func (g *plainGateway) Call(stream grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		form := "other"
		var docs *docarraypb.DocListProto
		switch d := req.GetData().GetDocuments().(type) {
		case *jinapb.DataRequestProto_DataContentProto_Docs:
			form, docs = "docs", d.Docs
		case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
			form = "docs_bytes"
		}
		g.mu.Lock()
		g.got = append(g.got, docs)
		g.form = append(g.form, form)
		g.mu.Unlock()
		out, err := docarray.FromProto(docs)
		if err != nil {
			return err
		}
		for _, d := range out {
			d.Text += "!"
		}
		req.Data = &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: out.ToProto()}}
		if err := stream.Send(req); err != nil {
			return err
		}
	}
}

// TestGRPCDocumentsOnTheWire: the client encodes documents itself
// (straight to bytes for plain ones); a gateway decoding with the stock
// protobuf codec must see them in the docs form, equal to what ToProto
// builds, and the client must read the docs form back.
func TestGRPCDocumentsOnTheWire(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	gw := &plainGateway{}
	jinapb.RegisterJinaRPCServer(srv, gw)
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })

	in := docarray.DocList{
		{ID: "plain", Text: "héllo", URL: "http://x/y", Blob: []byte{0, 1, 2}},
		{ID: "empty-blob", Blob: []byte{}},
		{ID: "rich", Text: "t", Tags: map[string]any{"k": "v", "n": 2.5}, Embedding: docarray.NewFloat32([]float32{1, 2}), Chunks: docarray.DocList{{ID: "c", Text: "chunk"}}},
		{},
	}
	c := newClient(t, "grpc://"+lis.Addr().String())
	out, _, err := c.Post(testCtx(t), "/x", in)
	if err != nil {
		t.Fatal(err)
	}
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if len(gw.got) != 1 || gw.form[0] != "docs" {
		t.Fatalf("gateway saw documents as %v, want one request in the docs form", gw.form)
	}
	if want := in.ToProto(); !proto.Equal(want, gw.got[0]) {
		t.Fatalf("documents on the wire:\n got %v\nwant %v", gw.got[0], want)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d documents back, want %d", len(out), len(in))
	}
	for i, d := range out {
		if want := in[i].Text + "!"; d.Text != want || d.ID != in[i].ID {
			t.Fatalf("doc %d came back as id %q text %q, want id %q text %q", i, d.ID, d.Text, in[i].ID, want)
		}
	}
	if string(out[0].Blob) != "\x00\x01\x02" || out[0].URL != "http://x/y" || out[2].Tags["k"] != "v" || len(out[2].Chunks) != 1 {
		t.Fatalf("fields lost on the way back: %+v %+v", out[0], out[2])
	}
}
