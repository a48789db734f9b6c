package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Prom holds the Prometheus collectors of one engine, in its own registry
// so that several engines (tests, the TUI) never clash.
type Prom struct {
	Registry *prometheus.Registry
	// Requests counts requests per deployment and outcome (ok, error,
	// unavailable, timeout).
	Requests *prometheus.CounterVec
	// Latency observes request latency per deployment ("gateway" for the
	// whole flow).
	Latency *prometheus.HistogramVec
	// ReplicasReady is the number of ready replicas per deployment.
	ReplicasReady *prometheus.GaugeVec
	// Restarts counts replica restarts per deployment.
	Restarts *prometheus.CounterVec
	// Raft exposes RAFT state per replica of stateful deployments.
	RaftTerm, RaftCommit, RaftApplied, RaftLastIndex, RaftIsLeader *prometheus.GaugeVec
	// Reloads counts reloads/restarts by kind and outcome.
	Reloads *prometheus.CounterVec
}

// NewProm registers jig's collectors (plus Go and process collectors) in a
// fresh registry.
func NewProm() *Prom {
	p := &Prom{Registry: prometheus.NewRegistry()}
	p.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jig", Name: "requests_total", Help: "Requests handled, by deployment and outcome."}, []string{"deployment", "outcome"})
	p.Latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jig", Name: "request_duration_seconds", Help: "Request latency by deployment (gateway = end to end).",
		Buckets: prometheus.ExponentialBucketsRange((50 * time.Microsecond).Seconds(), 30, 24)}, []string{"deployment"})
	p.ReplicasReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jig", Name: "replicas_ready", Help: "Ready replicas by deployment."}, []string{"deployment"})
	p.Restarts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jig", Name: "replica_restarts_total", Help: "Replica restarts by deployment."}, []string{"deployment"})
	raft := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jig", Subsystem: "raft", Name: name, Help: help}, []string{"deployment", "replica"})
	}
	p.RaftTerm = raft("term", "Current RAFT term.")
	p.RaftCommit = raft("commit_index", "RAFT commit index.")
	p.RaftApplied = raft("applied_index", "RAFT applied index.")
	p.RaftLastIndex = raft("last_log_index", "Last RAFT log index.")
	p.RaftIsLeader = raft("is_leader", "1 on the RAFT leader.")
	p.Reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jig", Name: "updates_total", Help: "Builds, reloads, restarts and reconciles by kind and outcome."}, []string{"deployment", "kind", "outcome"})
	// The Go and process collectors are the prometheus package's own:
	// package collectors only forwards to them, and importing it compiles
	// database/sql too (its DBStatsCollector), for nothing jig uses —
	// part of a cold `go build ./cmd/jig` (the cold-build quality bar, docs/ARCHITECTURE.md).
	//lint:ignore SA1019 the same collectors collectors.NewGoCollector and NewProcessCollector return
	goc := prometheus.NewGoCollector()
	//lint:ignore SA1019 see above
	proc := prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{})
	p.Registry.MustRegister(p.Requests, p.Latency, p.ReplicasReady, p.Restarts, p.RaftTerm, p.RaftCommit, p.RaftApplied, p.RaftLastIndex, p.RaftIsLeader, p.Reloads,
		goc, proc)
	return p
}
