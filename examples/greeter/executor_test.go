package main

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"gopkg.in/yaml.v3"
)

func TestMain(m *testing.M) {
	// workercmd.Main registers the type in the binary; the tests do it here.
	executors.Register("Greeter", newGreeter)
	os.Exit(m.Run())
}

// load creates the executor from config.yml as the engine does, with
// usesWith (YAML, may be empty) as a flow's uses_with.
func load(t *testing.T, usesWith string) *executors.Instance {
	t.Helper()
	cfg, err := executors.LoadConfig("config.yml")
	if err != nil {
		t.Fatal(err)
	}
	spec := executors.Spec{Config: cfg, Runtime: executors.RuntimeArgs{Name: "greeter", Workspace: t.TempDir()}}
	if usesWith != "" {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(usesWith), &n); err != nil {
			t.Fatal(err)
		}
		spec.UsesWith = &executors.Override{Node: n.Content[0], File: "flow.yml", Field: "executors[1].uses_with"}
	}
	inst, err := executors.New(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Error(err)
		}
	})
	return inst
}

// call sends one document per text (its ID is the text) to endpoint.
func call(t *testing.T, inst *executors.Instance, endpoint string, params map[string]any, texts ...string) *jinapb.DataRequestProto {
	t.Helper()
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "test", ExecEndpoint: proto.String(endpoint)}}
	if params != nil {
		s, err := structpb.NewStruct(params)
		if err != nil {
			t.Fatal(err)
		}
		req.Parameters = s
	}
	var docs docarray.DocList
	for _, text := range texts {
		docs = append(docs, &docarray.Document{ID: text, Text: text})
	}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		t.Fatal(err)
	}
	return inst.Process(t.Context(), req)
}

// ok returns the documents of a successful response.
func ok(t *testing.T, resp *jinapb.DataRequestProto) docarray.DocList {
	t.Helper()
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("status %s", st.GetDescription())
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// results returns what the greeter put under __results__.
func results(resp *jinapb.DataRequestProto) map[string]any {
	all, _ := resp.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)
	r, _ := all["greeter"].(map[string]any)
	return r
}

func TestGreet(t *testing.T) {
	inst := load(t, "")
	docs := ok(t, call(t, inst, "/default", nil, "world", "jig"))
	if got := docs.Texts(); !reflect.DeepEqual(got, []string{"hello world!", "hello jig!"}) {
		t.Errorf("texts %q", got)
	}
	if v := docs[0].Tags["greeted_by"]; v != "greeter" {
		t.Errorf("tags %v", docs[0].Tags)
	}
	// The parameter overrides the option, for this request only.
	if got := ok(t, call(t, inst, "/default", map[string]any{"greeting": "hey"}, "you")).Texts(); got[0] != "hey you!" {
		t.Errorf("parameter: %q", got)
	}
}

func TestUsesWith(t *testing.T) {
	inst := load(t, "{greeting: hi, punctuation: '.'}")
	if got := ok(t, call(t, inst, "/anything", nil, "ada")).Texts(); got[0] != "hi ada." {
		t.Errorf("got %q", got)
	}
}

func TestEmptyGreetingIsBadConfig(t *testing.T) {
	cfg, err := executors.LoadConfig("config.yml")
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("{greeting: ' '}"), &n); err != nil {
		t.Fatal(err)
	}
	_, err = executors.New(t.Context(), executors.Spec{Config: cfg, UsesWith: &executors.Override{Node: n.Content[0]}})
	if !errors.Is(err, executors.ErrBadInput) {
		t.Fatalf("got %v, want bad input", err)
	}
}

func TestShout(t *testing.T) {
	inst := load(t, "")
	if got := ok(t, call(t, inst, "/shout", nil, "ada", "alan")).Texts(); !reflect.DeepEqual(got, []string{"HELLO ADA!", "HELLO ALAN!"}) {
		t.Errorf("got %q", got)
	}
	st := call(t, inst, "/shout", nil, "ada", "").GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "ValueError" || st.GetException().GetExecutor() != "greeter" {
		t.Errorf("status %v", st)
	}
}

func TestRememberAndNames(t *testing.T) {
	inst := load(t, "")
	if !inst.IsWrite("/remember") || inst.IsWrite("/default") {
		t.Fatal("/remember is the only write endpoint")
	}
	if r := results(call(t, inst, "/remember", nil, "grace", "ada")); r["known"] != float64(2) {
		t.Errorf("remember results %v", r)
	}
	if got := ok(t, call(t, inst, "/default", nil, "ada", "bob")).Texts(); !reflect.DeepEqual(got, []string{"hello again, ada!", "hello bob!"}) {
		t.Errorf("got %q", got)
	}
	if r := results(call(t, inst, "/names", nil)); !reflect.DeepEqual(r["names"], []any{"ada", "grace"}) {
		t.Errorf("names %v", r)
	}
	if st := call(t, inst, "/remember", nil, "").GetHeader().GetStatus(); st.GetException().GetName() != "ValueError" {
		t.Errorf("empty name: %v", st)
	}
}

func TestSnapshotRestore(t *testing.T) {
	inst := load(t, "")
	call(t, inst, "/remember", nil, "ada")
	dir := t.TempDir()
	if err := inst.Snapshot(dir); err != nil {
		t.Fatal(err)
	}
	fresh := load(t, "")
	if err := fresh.Restore(dir); err != nil {
		t.Fatal(err)
	}
	if got := ok(t, call(t, fresh, "/default", nil, "ada")).Texts(); got[0] != "hello again, ada!" {
		t.Errorf("restored replica says %q", got)
	}
	if err := fresh.Restore(t.TempDir()); err == nil {
		t.Error("restored from an empty folder")
	}
}
