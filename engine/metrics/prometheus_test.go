package metrics

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, p *Prom) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := p.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// TestPromTwice checks that two engines in one process (tests, the TUI)
// register their collectors without clashing, and do not share values.
func TestPromTwice(t *testing.T) {
	var a, b *Prom
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("NewProm panicked: %v", p)
			}
		}()
		a = NewProm()
		b = NewProm()
	}()
	if a.Registry == b.Registry {
		t.Fatal("each Prom needs its own registry")
	}
	a.Requests.WithLabelValues("enc", "ok").Add(3)
	a.Latency.WithLabelValues("gateway").Observe(0.002)
	a.ReplicasReady.WithLabelValues("enc").Set(2)
	a.Restarts.WithLabelValues("enc").Inc()
	a.RaftIsLeader.WithLabelValues("idx", "rep-0").Set(1)
	a.Reloads.WithLabelValues("enc", "reload", "succeeded").Inc()
	b.Requests.WithLabelValues("enc", "ok").Inc()

	ma, mb := gather(t, a), gather(t, b)
	for _, name := range []string{
		"jig_requests_total", "jig_request_duration_seconds", "jig_replicas_ready",
		"jig_replica_restarts_total", "jig_raft_is_leader", "jig_updates_total",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if ma[name] == nil {
			t.Errorf("metric %s is not registered", name)
		}
	}
	if v := ma["jig_requests_total"].GetMetric()[0].GetCounter().GetValue(); v != 3 {
		t.Fatalf("a's requests = %v", v)
	}
	if v := mb["jig_requests_total"].GetMetric()[0].GetCounter().GetValue(); v != 1 {
		t.Fatalf("b's requests = %v: registries share collectors", v)
	}
	h := ma["jig_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 1 || len(h.GetBucket()) != 24 {
		t.Fatalf("latency histogram: %d samples, %d buckets", h.GetSampleCount(), len(h.GetBucket()))
	}
	if lo, hi := h.GetBucket()[0].GetUpperBound(), h.GetBucket()[23].GetUpperBound(); lo < 49e-6 || lo > 51e-6 || hi < 29.9 || hi > 30.1 {
		t.Fatalf("latency buckets span %v..%v s, want 50µs..30s", lo, hi)
	}
}
