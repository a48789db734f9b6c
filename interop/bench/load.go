package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// benchEndpoint is the endpoint both echo flows serve (the Python Echo is
// bound to it with @requests(on=...); builtin:Echo serves every endpoint).
const benchEndpoint = "/bench"

// docText is the size of each document's text, as in `jig bench`'s
// 100-document cases.
const docText = 1024

// payload is one request shape (1 or 100 documents), encoded once for both
// protocols so that every request of a window costs the client the same.
type payload struct {
	ndocs int
	docs  docarray.DocList
	data  *jinapb.DataRequestProto_DataContentProto // shared, read-only
	// grpcData is data encoded as field 4 of a DataRequestProto.
	grpcData []byte
	// HTTP body around the request id: Jina's client sends
	// {"data": [...], "parameters": {}, "header": {...}, "exec_endpoint": ...}
	// with snake_case keys (jina/clients/base/helper.py,
	// HTTPClientlet.send_message; DataRequest.to_dict). With minimal set,
	// the body is {"data": [...], "parameters": {}}, what Jina's OpenAPI
	// schema requires (curl's shape).
	httpHead, httpTail []byte
	minimal            []byte
}

func newPayload(ndocs int) (*payload, error) {
	docs := make(docarray.DocList, ndocs)
	for i := range docs {
		line := fmt.Sprintf("document %d of the jina comparison. ", i)
		docs[i] = &docarray.Document{ID: fmt.Sprintf("doc-%d", i), Text: strings.Repeat(line, docText/len(line)+1)[:docText]}
	}
	req := &jinapb.DataRequestProto{}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		return nil, fmt.Errorf("encode %d documents: %w", ndocs, err)
	}
	type jsonDoc struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	jd := make([]jsonDoc, ndocs)
	for i, d := range docs {
		jd[i] = jsonDoc{d.ID, d.Text}
	}
	data, err := json.Marshal(jd)
	if err != nil {
		return nil, err
	}
	head := append([]byte(`{"data":`), data...)
	head = append(head, `,"parameters":{},"header":{"exec_endpoint":"`+benchEndpoint+`","request_id":"`...)
	tail := []byte(`"},"exec_endpoint":"` + benchEndpoint + `"}`)
	minimal := append([]byte(`{"data":`), data...)
	minimal = append(minimal, `,"parameters":{}}`...)
	gd, err := encodedData(req.Data)
	if err != nil {
		return nil, err
	}
	return &payload{ndocs: ndocs, docs: docs, data: req.Data, grpcData: gd, httpHead: head, httpTail: tail, minimal: minimal}, nil
}

// grpcRequest is a request with its own id around the shared documents
// (Jina's client gives every request a fresh id).
func (p *payload) grpcRequest(id string) *jinapb.DataRequestProto {
	return &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: id, ExecEndpoint: proto.String(benchEndpoint)},
		Data:   p.data,
	}
}

// minimalBody is set when a server refused the body Jina's client sends:
// then both servers get the minimal body, so that the client stays the same.
var minimalBody bool

// httpBody appends the JSON body of a request with id to buf.
func (p *payload) httpBody(buf []byte, id string) []byte {
	if minimalBody {
		return append(buf[:0], p.minimal...)
	}
	buf = append(buf[:0], p.httpHead...)
	buf = append(buf, id...)
	return append(buf, p.httpTail...)
}

// target is one running echo flow as the client sees it.
type target struct {
	name     string
	grpcAddr string
	httpAddr string
	pgid     int
	cc       *grpc.ClientConn
}

func newTarget(name, grpcAddr, httpAddr string, pgid int) (*target, error) {
	dopts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)),
	}, clientDialOptions()...)
	cc, err := grpc.NewClient(grpcAddr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("%s: dial %s: %w", name, grpcAddr, err)
	}
	return &target{name: name, grpcAddr: grpcAddr, httpAddr: httpAddr, pgid: pgid, cc: cc}, nil
}

func (t *target) close() {
	t.cc.Close()
}

// callGRPC sends one request through JinaSingleDataRequestRPC/process_single_data,
// which Jina's gateway serves next to JinaRPC/Call
// (jina/serve/runtimes/servers/grpc.py).
func (t *target) callGRPC(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(t.cc).ProcessSingleData(ctx, req)
	if err != nil {
		return nil, err
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
		return nil, fmt.Errorf("status %s: %s", st.GetCode(), st.GetDescription())
	}
	return resp, nil
}

// postHTTP sends one JSON request to POST /bench on a connection of its
// own and returns the body.
func (t *target) postHTTP(ctx context.Context, body []byte) ([]byte, error) {
	h := newHTTPConn(t.httpAddr)
	defer h.close()
	return h.post(ctx, body, true)
}

// verify sends one request of p over proto and checks that every document
// comes back as sent: both flows really echo what the client measures.
func (t *target) verify(ctx context.Context, protocol string, p *payload) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var got docarray.DocList
	switch protocol {
	case "grpc":
		resp, err := t.callGRPC(ctx, p.grpcRequest("verify-0000000000000000000000000"))
		if err != nil {
			return fmt.Errorf("%s gRPC %d docs: %w", t.name, p.ndocs, err)
		}
		if got, err = executors.RequestDocs(resp); err != nil {
			return fmt.Errorf("%s gRPC %d docs: decode answer: %w", t.name, p.ndocs, err)
		}
	default:
		b, err := t.postHTTP(ctx, p.httpBody(nil, "verify-0000000000000000000000000"))
		if err != nil {
			return fmt.Errorf("%s HTTP %d docs: %w", t.name, p.ndocs, err)
		}
		var body struct {
			Data []struct {
				ID   string `json:"id"`
				Text string `json:"text"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			return fmt.Errorf("%s HTTP %d docs: answer: %w", t.name, p.ndocs, err)
		}
		for _, d := range body.Data {
			got = append(got, &docarray.Document{ID: d.ID, Text: d.Text})
		}
	}
	if len(got) != p.ndocs {
		return fmt.Errorf("%s %s: %d documents back, sent %d", t.name, protocol, len(got), p.ndocs)
	}
	for i, d := range got {
		if d.ID != p.docs[i].ID || d.Text != p.docs[i].Text {
			return fmt.Errorf("%s %s: document %d came back as id=%q text=%.20q…", t.name, protocol, i, d.ID, d.Text)
		}
	}
	return nil
}

// window is the outcome of one measured window.
type window struct {
	n, errs   int
	firstErr  error
	elapsed   time.Duration
	p50       time.Duration
	clientCPU time.Duration
	serverCPU time.Duration
}

func (w window) rps() float64 { return float64(w.n) / w.elapsed.Seconds() }

// load keeps conc requests of p in flight over protocol for d and returns
// throughput, the median latency and the CPU both sides spent.
func (t *target) load(ctx context.Context, protocol string, p *payload, conc int, d time.Duration) window {
	// The window is bounded by cancelling, not by a deadline on ctx: a
	// deadline would go out with every gRPC call (grpc-timeout), and each
	// server would arm a timer per request that Jina's own Client, which
	// sets no timeout by default, never makes it arm.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bound := time.AfterFunc(d+90*time.Second, cancel)
	defer bound.Stop()
	lats := make([][]time.Duration, conc)
	errs := make([]int, conc)
	firstErr := make([]error, conc)
	var wg sync.WaitGroup
	// The server's CPU first: reading /proc costs the client, and is not
	// part of a window's client CPU.
	s0 := groupCPU(t.pgid)
	c0 := selfCPU()
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			my := make([]time.Duration, 0, 4096)
			var stream *rawStream
			var hc *httpConn
			if protocol == "http" {
				hc = newHTTPConn(t.httpAddr)
				hc.deadline = time.Now().Add(d + 90*time.Second)
				defer hc.close()
			}
			if protocol == "grpc" && useCall {
				var err error
				if stream, err = t.openCall(ctx); err != nil {
					errs[w]++
					firstErr[w] = err
					return
				}
				defer stream.close()
			}
			prefix := fmt.Sprintf("%02d", w)
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				id := prefix + strconv.Itoa(i)
				var err error
				if protocol == "grpc" {
					buf = appendRawRequest(buf, id, p.grpcData)
					if stream != nil {
						err = stream.call(buf, p.ndocs*docText)
					} else {
						err = t.callRaw(ctx, buf, p.ndocs*docText)
					}
				} else {
					buf = p.httpBody(buf, id)
					_, err = hc.post(ctx, buf, false)
				}
				if err != nil {
					errs[w]++
					if firstErr[w] == nil {
						firstErr[w] = err
					}
					continue
				}
				my = append(my, time.Since(t0))
			}
			lats[w] = my
		}()
	}
	wg.Wait()
	out := window{elapsed: time.Since(start), clientCPU: selfCPU() - c0, serverCPU: groupCPU(t.pgid) - s0}
	var all []time.Duration
	for w := range conc {
		all = append(all, lats[w]...)
		out.errs += errs[w]
		if out.firstErr == nil {
			out.firstErr = firstErr[w]
		}
	}
	out.n = len(all)
	if len(all) > 0 {
		slices.Sort(all)
		out.p50 = all[len(all)/2]
	}
	return out
}

// firstAnswer polls the flow with a request on endpoint until one succeeds
// (the moment a user's first request would be served) or timeout passes.
func firstAnswer(ctx context.Context, grpcAddr, endpoint string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "ready-probe", ExecEndpoint: proto.String(endpoint)}}
	if err := executors.SetRequestDocs(req, docarray.DocList{{ID: "probe", Text: "probe"}}); err != nil {
		return err
	}
	stub := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := stub.ProcessSingleData(cctx, req, grpc.WaitForReady(true))
		ccancel()
		if err == nil {
			if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_SUCCESS {
				return nil
			} else {
				err = fmt.Errorf("status %s: %s", st.GetCode(), st.GetDescription())
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s within %s: %v", grpcAddr, timeout, last)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
