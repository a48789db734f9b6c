package bench

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"google.golang.org/grpc"
)

// streamInflight is the number of requests kept unanswered on a stream:
// the client's default Prefetch.
const streamInflight = client.DefaultPrefetch

// clientStreamSystem streams 100-document requests with the jig client
// (client.Stream: it encodes every request and decodes every answer).
func clientStreamSystem(name string, c *client.Client, docs docarray.DocList) system {
	return system{name: name, run: func(ctx context.Context, d time.Duration) (sample, error) {
		start := time.Now()
		deadline := start.Add(d)
		var seq iter.Seq[*docarray.Document] = func(yield func(*docarray.Document) bool) {
			for time.Now().Before(deadline) {
				for _, doc := range docs {
					if !yield(doc) {
						return
					}
				}
			}
		}
		var n int64
		for resp, err := range c.Stream(ctx, endpoint, seq, client.RequestSize(len(docs)), client.Prefetch(streamInflight)) {
			if err != nil {
				return sample{}, err
			}
			if len(resp.Docs) != len(docs) {
				return sample{}, fmt.Errorf("answer has %d documents, want %d", len(resp.Docs), len(docs))
			}
			n++
		}
		return sample{ops: n, elapsed: time.Since(start)}, nil
	}}
}

func streamScenario() scenario {
	const name = "stream/100docs"
	return scenario{name: "stream", cases: []string{name}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var st stack
		defer st.run()
		t, err := startTargets(ctx, r, &st)
		if err != nil {
			return nil, err
		}
		docs := textDocs(100, 1024)
		req := request(endpoint, docs)
		for _, cc := range []*grpc.ClientConn{t.gw, t.raw} {
			if err := checkUnary(ctx, cc, req, len(docs)); err != nil {
				return nil, fmt.Errorf("%s: %w", cc.Target(), err)
			}
		}
		c, err := client.New("grpc://" + t.gw.Target())
		if err != nil {
			return nil, err
		}
		st.push(func() { c.Close() })
		payload := marshal(req)
		ss, err := r.interleave(ctx, name, r.o.Duration,
			clientStreamSystem("jig client → gateway", c, docs),
			rawStreamSystem("raw stream → gateway", t.gw, payload, streamInflight),
			rawStreamSystem(baseRaw+" bidi", t.raw, payload, streamInflight))
		if err != nil {
			return nil, err
		}
		rate := sample.rate
		base := figures(ss[2], rate)
		cl := ratioRow(name, "client→gw req/s", "req/s", baseRaw+" bidi", figures(ss[0], rate), base, atLeast(0.5, design))
		cl.Note = fmt.Sprintf("100 docs of 1 KiB per request, %d in flight; client→gw: jig's client.Stream (builds, encodes and decodes the documents) through the gateway's JinaRPC/Call to Echo; raw→gw: the pre-encoded bytes on a grpc-go stream to the same gateway; baseline: the same bytes on a grpc-go bidi stream to a raw grpc-go server returning each request", streamInflight)
		raw := ratioRow(name, "raw→gw req/s", "req/s", baseRaw+" bidi", figures(ss[1], rate), base, atLeast(0.5, design))
		raw.Note = cl.Note
		return []Row{cl, raw}, nil
	}}
}
