package engine

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/jig-dev/jig/executors/worker"
	"google.golang.org/grpc"
)

// newFlowSecret returns a fresh random token for one run of a flow. Every
// replica the engine manages (in-process or child process) requires it on
// its gRPC port, so nothing but the engine and the flow's own replicas
// (forwarding writes to their leader) can call them: the gateway's token
// and TLS cannot be bypassed through a replica's port. Children get it in
// their environment, never in argv or logs.
func newFlowSecret(open bool) string {
	if open {
		return ""
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// authDial are the dial options that present the flow's secret.
func (e *Engine) authDial() []grpc.DialOption {
	if e.secret == "" {
		return nil
	}
	return []grpc.DialOption{worker.AuthDialOption(e.secret)}
}

// ReplicaDialOptions are the options a client in this process needs to
// call the flow's replicas directly (their addresses are in Status):
// the flow's secret. Tools such as the workbench's per-replica actions
// use them; nothing outside the process can.
func (e *Engine) ReplicaDialOptions() []grpc.DialOption { return e.authDial() }
