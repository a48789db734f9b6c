package wire

import (
	"crypto/tls"
	"time"

	"github.com/jig-dev/jig/internal/grpcdecode"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// MaxMessageSize is the default largest request or response, in bytes, of
// every jig server and connection: far above grpc-go's 4 MiB default,
// which large batches of tensors exceed, and bounded so a runaway peer
// cannot exhaust memory. HTTP request bodies have the same default limit.
const MaxMessageSize = 256 << 20

// DefaultPrefetch bounds the requests of one Call stream in flight at once
// when the server is not told otherwise.
const DefaultPrefetch = 1000

// ServerOptions are the gRPC options every jig server uses: jig's Codec
// (documents kept encoded until read), undecodable requests answered
// INVALID_ARGUMENT (grpcdecode), message limits of
// maxMsg bytes (MaxMessageSize when 0), and a keepalive policy that
// accepts the pings Jina's Python clients send every few seconds (grpc-go
// would otherwise answer them with GOAWAY "too_many_pings").
func ServerOptions(maxMsg int) []grpc.ServerOption {
	if maxMsg <= 0 {
		maxMsg = MaxMessageSize
	}
	return append(grpcdecode.ServerOptionsFor(Codec()),
		grpc.MaxRecvMsgSize(maxMsg),
		grpc.MaxSendMsgSize(maxMsg),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
}

// DialOptions are the options every jig connection starts from: TLS
// credentials when tlsConfig is set (plain text otherwise: loopback and
// trusted networks), and message limits of maxMsg bytes (MaxMessageSize
// when 0) both ways. Callers add their reconnection and keepalive policy.
func DialOptions(maxMsg int, tlsConfig *tls.Config) []grpc.DialOption {
	if maxMsg <= 0 {
		maxMsg = MaxMessageSize
	}
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
	}
}

// Reconnect is a short reconnection backoff, from base growing to at most
// maxDelay, each attempt given at least minConnect: after a peer restarts
// the connection is usable again within about maxDelay, not grpc-go's two
// minutes.
func Reconnect(base, maxDelay, minConnect time.Duration) grpc.DialOption {
	return grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: base, Multiplier: 1.6, Jitter: 0.2, MaxDelay: maxDelay},
		MinConnectTimeout: minConnect,
	})
}

// WithCodec makes a connection use jig's Codec: requests whose documents
// were never read are sent as the bytes they came in, and the documents
// of responses stay encoded until read. For connections inside a flow
// (to replicas, to the RAFT leader), whose messages jig's own code reads.
func WithCodec() grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.ForceCodecV2(Codec()))
}
