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
func newFlowSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// authDial are the dial options that present the flow's secret.
func (e *Engine) authDial() []grpc.DialOption {
	return []grpc.DialOption{worker.AuthDialOption(e.secret)}
}
