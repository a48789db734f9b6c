package executors_test

import (
	"context"
	"maps"
	"testing"

	"github.com/jig-dev/jig/executors"
)

// selfRequests reads its own endpoint map in Init.
type selfRequests struct {
	executors.Base
	seen map[string]string
}

func (s *selfRequests) Endpoints(r *executors.Router) {
	r.Default(executors.Method("Greet", s.Greet))
	r.On("/bye", executors.Method("Bye", s.Greet))
}

func (s *selfRequests) Greet(ctx context.Context, c *executors.Call) error { return nil }

func (s *selfRequests) Init(context.Context) error {
	s.seen = maps.Clone(s.Requests)
	return nil
}

func init() {
	executors.Register("TestSelfRequests", func() executors.Executor { return &selfRequests{} })
}

// TestExecutorSeesItsRequests: Base.Requests is the endpoint map after the
// remap, before Init (Jina's self.requests).
func TestExecutorSeesItsRequests(t *testing.T) {
	spec, err := executors.NewSpec("TestSelfRequests", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.UsesRequests = map[string]string{"/hello": "Greet"}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	want := map[string]string{"/hello": "Greet", "/bye": "Bye"}
	if got := inst.Executor().(*selfRequests).seen; !maps.Equal(got, want) {
		t.Fatalf("Requests in Init %v, want %v", got, want)
	}
}
