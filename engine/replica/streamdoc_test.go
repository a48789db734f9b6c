package replica

import (
	"context"
	"iter"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// wordsExec yields the words of a text on /words; on /hang it yields the
// first word and then waits for its context to end, so a test receiving
// that word knows it was forwarded while the generator was still running.
type wordsExec struct{ executors.Base }

func (w *wordsExec) Endpoints(r *executors.Router) {
	r.On("/words", executors.Generator(w.words(false)))
	r.On("/hang", executors.Generator(w.words(true)))
}

func (w *wordsExec) words(hang bool) executors.GenFunc {
	return func(ctx context.Context, doc *docarray.Document, p executors.Params) iter.Seq2[*docarray.Document, error] {
		return func(yield func(*docarray.Document, error) bool) {
			for _, word := range strings.Fields(doc.Text) {
				if !yield(docarray.New(word+">"+w.Runtime.Name), nil) {
					return
				}
				if hang {
					<-ctx.Done()
					return
				}
			}
		}
	}
}

func init() {
	executors.Register("ReplicaWords", func() executors.Executor { return &wordsExec{} })
}

func streamReq(endpoint, text string) *jinapb.SingleDocumentRequestProto {
	return &jinapb.SingleDocumentRequestProto{
		Header:   &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String(endpoint)},
		Document: docarray.New(text).ToProto(),
	}
}

// checkStream checks a replica's stream_doc: the words in order, and an
// item forwarded while its generator is still running.
func checkStream(t *testing.T, conn Conn, name string) {
	t.Helper()
	sc, ok := conn.(StreamConn)
	if !ok {
		t.Fatalf("%T is not a StreamConn", conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	err := sc.StreamDoc(ctx, streamReq("/words", "a b c"), func(it *jinapb.SingleDocumentRequestProto) error {
		d, err := docarray.DocFromProto(it.GetDocument())
		if err != nil {
			return err
		}
		got = append(got, d.Text)
		return nil
	})
	if err != nil || strings.Join(got, " ") != "a>"+name+" b>"+name+" c>"+name {
		t.Fatalf("/words: %v %v", got, err)
	}
	hctx, hcancel := context.WithCancel(ctx)
	first := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- sc.StreamDoc(hctx, streamReq("/hang", "x y"), func(it *jinapb.SingleDocumentRequestProto) error {
			d, _ := docarray.DocFromProto(it.GetDocument())
			first <- d.Text
			return nil
		})
	}()
	select {
	case w := <-first:
		if w != "x>"+name {
			t.Fatalf("/hang: first item %q", w)
		}
	case err := <-done:
		t.Fatalf("/hang ended before its first item arrived: %v", err)
	}
	hcancel() // stops the generator
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Fatalf("/hang after cancel: %v, want Canceled", err)
	}
}

func TestStreamDocLocalReplica(t *testing.T) {
	spec, err := executors.NewSpec("ReplicaWords", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "loc"
	r := NewLocal(LocalSpec{Common: common("rep-0", &states{}), Executor: spec})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	checkStream(t, r.Conn(), "loc")
}

func TestStreamDocProcessReplica(t *testing.T) {
	spec := helperSpec(t, "worker", &states{}, &logs{})
	spec.Args = []string{"--uses", "ReplicaWords", "--name", "proc", "--grace-period", "1s"}
	r := NewProcess(spec)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Signal(syscall.SIGCONT)
		r.Stop(context.Background())
	})
	checkStream(t, r.Conn(), "proc")
}

func TestStreamDocUnavailable(t *testing.T) {
	err := unavailableConn{"127.0.0.1:1"}.StreamDoc(context.Background(), streamReq("/words", "a"), func(*jinapb.SingleDocumentRequestProto) error { return nil })
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v, want Unavailable", err)
	}
}
