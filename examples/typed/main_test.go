package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestMain(m *testing.M) {
	// main registers the type through workercmd.Main; tests do it here.
	executors.Register("ReviewScorer", newScorer)
	goleak.VerifyTestMain(m)
}

// load creates the executor from this folder's config.yml, as `jig serve
// examples/typed` does.
func load(t *testing.T, batching map[string]executors.BatchConfig) *executors.Instance {
	t.Helper()
	cfg, err := executors.LoadConfig("config.yml")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := executors.New(context.Background(), executors.Spec{Config: cfg, UsesDynamicBatching: batching})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func request(endpoint string, params map[string]any, docs docarray.DocList) *jinapb.DataRequestProto {
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String(endpoint)}}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		panic(err)
	}
	if params != nil {
		req.Parameters, _ = structpb.NewStruct(params)
	}
	return req
}

func ok(t *testing.T, resp *jinapb.DataRequestProto) docarray.DocList {
	t.Helper()
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		t.Fatalf("request failed: %s", st.GetDescription())
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func review(id, text string, stars int) *docarray.Document {
	d := &docarray.Document{ID: id, Text: text, Tags: map[string]any{"source": "test"}}
	if stars > 0 {
		if err := d.SetField("stars", stars); err != nil {
			panic(err)
		}
	}
	return d
}

func TestScore(t *testing.T) {
	inst := load(t, nil)
	docs := ok(t, inst.Process(context.Background(), request("/score", nil, docarray.DocList{
		review("a", "Great kettle, I love it", 5),
		review("b", "Not good. Broken after a week", 4),
		review("c", "It is a kettle", 0),
	})))
	out, err := docarray.DecodeList[struct {
		ID     string `doc:"id"`
		Text   string `doc:"text"`
		Label  string `doc:"label"`
		Words  int    `doc:"words"`
		Agrees *bool  `doc:"agrees"`
	}](docs)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Label != "positive" || out[1].Label != "negative" || out[2].Label != "neutral" {
		t.Errorf("labels %v %v %v", out[0].Label, out[1].Label, out[2].Label)
	}
	if out[0].Agrees == nil || !*out[0].Agrees || out[1].Agrees == nil || *out[1].Agrees || out[2].Agrees != nil {
		t.Errorf("agrees: %v %v %v", out[0].Agrees, out[1].Agrees, out[2].Agrees)
	}
	// IDs, texts and the fields Scored does not declare pass through.
	if !slices.Equal(docs.IDs(), []string{"a", "b", "c"}) || out[1].Text != "Not good. Broken after a week" || out[1].Words != 6 || docs[2].Tags["source"] != "test" {
		t.Errorf("pass-through: %v %+v %v", docs.IDs(), out[1], docs[2].Tags)
	}
}

func TestScoreRejectsReviewsWithoutText(t *testing.T) {
	inst := load(t, nil)
	bad := review("x", "", 0)
	_ = bad.SetField("stars", "five")
	st := inst.Process(context.Background(), request("/score", nil, docarray.DocList{review("ok", "fine", 0), bad})).GetHeader().GetStatus()
	if st.GetException().GetName() != "BadRequest" || !strings.Contains(st.GetDescription(), `doc 1 (id x): field \"text\" (Text string): required, but missing`) {
		t.Errorf("status %s: %s", st.GetException().GetName(), st.GetDescription())
	}
	bad.Text = "has text now"
	st = inst.Process(context.Background(), request("/score", nil, docarray.DocList{bad})).GetHeader().GetStatus()
	if !strings.Contains(st.GetDescription(), `field \"stars\" (Stars *int): want an integer, got text`) {
		t.Errorf("status %s", st.GetDescription())
	}
}

func TestKeywordsAndSummary(t *testing.T) {
	inst := load(t, nil)
	docs := ok(t, inst.Process(context.Background(), request("/keywords", map[string]any{"min_count": 2}, docarray.DocList{
		review("k", "good tea, good pot, good price; pot", 0),
	})))
	if got := docs[0].Chunks.Texts(); !slices.Equal(got, []string{"good", "pot"}) {
		t.Errorf("keywords %v", got)
	}
	if n, _ := docs[0].Chunks[0].Field("count"); n != int64(3) {
		t.Errorf("count %v", n)
	}
	st := inst.Process(context.Background(), request("/keywords", map[string]any{"min_count": 0}, docarray.DocList{review("k", "x", 0)})).GetHeader().GetStatus()
	if st.GetException().GetName() != "BadRequest" || !strings.Contains(st.GetDescription(), "doc 0 (id k)") {
		t.Errorf("single-doc errors name the doc: %s", st.GetDescription())
	}

	resp := inst.Process(context.Background(), request("/summary", nil, docarray.DocList{review("a", "great", 0), review("b", "awful", 0)}))
	if docs := ok(t, resp); len(docs) != 2 {
		t.Errorf("summary returns the reviews: %d", len(docs))
	}
	res := resp.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)["reviews"].(map[string]any)
	if res["count"] != 2.0 || res["mean_sentiment"] != 0.0 {
		t.Errorf("results %v", res)
	}
}

func TestDiscoveryPublishesSchemas(t *testing.T) {
	inst := load(t, nil)
	schemas := inst.Endpoints().GetSchemas().AsMap()
	for ep, names := range map[string][2]string{"/score": {"Review", "Scored"}, "/keywords": {"Review", "Keywords"}, "/summary": {"Review", "Review"}} {
		s, _ := schemas[ep].(map[string]any)
		in, _ := s["input"].(map[string]any)
		out, _ := s["output"].(map[string]any)
		if in["name"] != names[0] || out["name"] != names[1] {
			t.Errorf("%s: %v -> %v", ep, in["name"], out["name"])
		}
	}
	kw := schemas["/keywords"].(map[string]any)["output"].(map[string]any)["model"].(map[string]any)
	if kw["definitions"].(map[string]any)["Keyword"] == nil {
		t.Errorf("nested Keyword schema: %v", kw)
	}
}

// batchLog records the batch sizes Score logs.
type batchLog struct {
	mu    sync.Mutex
	sizes []int
}

func (b *batchLog) Enabled(context.Context, slog.Level) bool { return true }
func (b *batchLog) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *batchLog) WithGroup(string) slog.Handler            { return b }
func (b *batchLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "scoring a batch" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reviews" {
			b.mu.Lock()
			b.sizes = append(b.sizes, int(a.Value.Int64()))
			b.mu.Unlock()
		}
		return true
	})
	return nil
}

// TestScoreIsDynamicallyBatched sends 40 concurrent one-review requests
// through the worker, as the engine does for a replica: the handler sees
// them in batches (of 8 here; the timeout is an hour, so that batches form
// by size alone) and each caller gets its own review scored.
func TestScoreIsDynamicallyBatched(t *testing.T) {
	cfg, err := executors.LoadConfig("config.yml")
	if err != nil {
		t.Fatal(err)
	}
	log := &batchLog{}
	inst, err := executors.New(context.Background(), executors.Spec{
		Config:              cfg,
		UsesDynamicBatching: map[string]executors.BatchConfig{"/score": {PreferredBatchSize: 8, Timeout: 3_600_000}},
		Logger:              slog.New(log),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			text, want := "great", "positive"
			if i%2 == 1 {
				text, want = "terrible", "negative"
			}
			id := fmt.Sprint("r", i)
			resp, err := srv.Process(ctx, request("/score", nil, docarray.DocList{review(id, text, 0)}))
			if err != nil {
				t.Error(err)
				return
			}
			docs, _ := executors.RequestDocs(resp)
			if len(docs) != 1 || docs[0].ID != id {
				t.Errorf("caller %d got %v", i, docs.IDs())
				return
			}
			if label, _ := docs[0].Field("label"); label != want {
				t.Errorf("caller %d (%s): label %v", i, text, label)
			}
		})
	}
	wg.Wait()
	log.mu.Lock()
	defer log.mu.Unlock()
	if !slices.Equal(log.sizes, []int{8, 8, 8, 8, 8}) {
		t.Errorf("the handler saw batches %v, want five batches of 8", log.sizes)
	}
}
