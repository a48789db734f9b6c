package consensus

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

// TestMain checks that no test leaves a goroutine behind, with one
// exception: await's helper blocked in a raft future's Error. hashicorp/raft
// v1.8.0 does not answer every future that was queued just as the node shut
// down (seen about once in four runs of this package under -race), so that
// helper can outlive the node; it holds only the future, and await itself
// has returned through ctx or the node's stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*deferError).Error"))
}

// KV is the deterministic test executor: @write /put stores doc.text under
// doc.id and appends the id to Seq (so replicas can be compared for order,
// not just content); /get answers each doc with the stored text. Its
// Snapshot writes nested files, so the tar round trip is exercised.
type KV struct {
	executors.Base

	mu   sync.Mutex
	Data map[string]string
	Seq  []string
}

// KVNoSnap is KV without Snapshot/Restore.
type KVNoSnap struct{ kvCore }

type kvCore struct {
	executors.Base
	mu   sync.Mutex
	Data map[string]string
	Seq  []string
}

func init() {
	executors.Register("ConsensusTestKV", func() executors.Executor { return &KV{Data: map[string]string{}} })
	executors.Register("ConsensusTestKVNoSnap", func() executors.Executor { return &KVNoSnap{kvCore{Data: map[string]string{}}} })
}

func (k *KV) Endpoints(r *executors.Router) {
	r.Write("/put", k.Put)
	r.On("/get", k.Get)
}

func (k *KV) Put(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range docs {
		k.Data[d.ID] = d.Text
		k.Seq = append(k.Seq, d.ID)
	}
	return nil, nil
}

func (k *KV) Get(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range docs {
		d.Text = k.Data[d.ID]
	}
	return nil, nil
}

type kvState struct {
	Data map[string]string `json:"data"`
	Seq  []string          `json:"seq"`
}

func (k *KV) Snapshot(dir string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(dir, "nested", "deeper"), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(kvState{Data: k.Data, Seq: k.Seq})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "nested", "deeper", "state.json"), b, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "count.txt"), fmt.Appendf(nil, "%d", len(k.Data)), 0o600)
}

func (k *KV) Restore(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "nested", "deeper", "state.json"))
	if err != nil {
		return err
	}
	var s kvState
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s.Data == nil {
		s.Data = map[string]string{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Data, k.Seq = s.Data, s.Seq
	return nil
}

func (k *kvCore) Endpoints(r *executors.Router) {
	r.Write("/put", k.Put)
	r.On("/get", k.Get)
}

func (k *kvCore) Put(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range docs {
		k.Data[d.ID] = d.Text
		k.Seq = append(k.Seq, d.ID)
	}
	return nil, nil
}

func (k *kvCore) Get(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range docs {
		d.Text = k.Data[d.ID]
	}
	return nil, nil
}

// KVSnapshot is a copy of a test executor's state.
type KVSnapshot struct {
	Data map[string]string
	Seq  []string
}

// Equal reports whether two states are identical, order included.
func (s KVSnapshot) Equal(o KVSnapshot) bool {
	return maps.Equal(s.Data, o.Data) && slices.Equal(s.Seq, o.Seq)
}

// StateOf copies the state of a KV or KVNoSnap instance.
func StateOf(inst *executors.Instance) KVSnapshot {
	switch e := inst.Executor().(type) {
	case *KV:
		e.mu.Lock()
		defer e.mu.Unlock()
		return KVSnapshot{Data: maps.Clone(e.Data), Seq: slices.Clone(e.Seq)}
	case *KVNoSnap:
		e.mu.Lock()
		defer e.mu.Unlock()
		return KVSnapshot{Data: maps.Clone(e.Data), Seq: slices.Clone(e.Seq)}
	}
	panic(fmt.Sprintf("not a test KV: %T", inst.Executor()))
}

// NewKV creates a test executor instance (jtype ConsensusTestKV or
// ConsensusTestKVNoSnap).
func NewKV(t testing.TB, jtype string) *executors.Instance {
	t.Helper()
	spec, err := executors.NewSpec(jtype, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "kv"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// PutReq is a /put request for key=value pairs (k1, v1, k2, v2, ...).
func PutReq(kv ...string) *jinapb.DataRequestProto {
	return docsReq("/put", kv...)
}

// GetReq is a /get request for keys.
func GetReq(keys ...string) *jinapb.DataRequestProto {
	kv := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, "")
	}
	return docsReq("/get", kv...)
}

func docsReq(endpoint string, kv ...string) *jinapb.DataRequestProto {
	docs := docarray.DocList{}
	for i := 0; i+1 < len(kv); i += 2 {
		docs = append(docs, &docarray.Document{ID: kv[i], Text: kv[i+1]})
	}
	return &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String(endpoint)},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}},
	}
}

// Texts returns the texts of a response's documents.
func Texts(t testing.TB, r *jinapb.DataRequestProto) []string {
	t.Helper()
	docs, err := executors.RequestDocs(r)
	if err != nil {
		t.Fatal(err)
	}
	return docs.Texts()
}
