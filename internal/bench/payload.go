package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"

	// The flows here use built-in executors.
	_ "github.com/jig-dev/jig/executors/builtin"
)

// endpoint is the endpoint the load scenarios call (Echo and the sleepers
// serve every endpoint through their default handler).
const endpoint = "/bench"

// textDocs returns n documents with ids and texts of size bytes.
func textDocs(n, size int) docarray.DocList {
	out := make(docarray.DocList, n)
	for i := range out {
		line := fmt.Sprintf("document %d of the benchmark payload. ", i)
		text := strings.Repeat(line, size/len(line)+1)[:size]
		out[i] = &docarray.Document{ID: fmt.Sprintf("doc-%d", i), Text: text}
	}
	return out
}

// blobDoc returns one document carrying a blob of size bytes.
func blobDoc(size int) docarray.DocList {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i * 131)
	}
	return docarray.DocList{{ID: "blob", Blob: b}}
}

// request builds a request for ep holding docs.
func request(ep string, docs docarray.DocList) *jinapb.DataRequestProto {
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "0123456789abcdef0123456789abcdef", ExecEndpoint: proto.String(ep)}}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		panic(err) // documents built here always encode
	}
	return req
}

// startFlow starts an engine for flow YAML; stop it with stopEngine.
func startFlow(ctx context.Context, name, dir, yml string) (*engine.Engine, error) {
	f, err := flow.Parse(name+".yml", dir, []byte(yml))
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	eng, err := engine.Start(ctx, f, engine.Options{LogLevel: slog.LevelWarn})
	if err != nil {
		return nil, fmt.Errorf("start flow %s: %w", name, err)
	}
	return eng, nil
}

func stopEngine(eng *engine.Engine) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return eng.Stop(ctx)
}

// stack stops what it collects in reverse order.
type stack struct {
	mu  sync.Mutex
	fns []func()
}

func (s *stack) push(f func()) {
	s.mu.Lock()
	s.fns = append(s.fns, f)
	s.mu.Unlock()
}

func (s *stack) run() {
	s.mu.Lock()
	fns := s.fns
	s.fns = nil
	s.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
