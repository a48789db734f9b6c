package worker

import (
	"context"
	"os"
	"strings"

	"github.com/jig-dev/jig/internal/auth"
	"github.com/jig-dev/jig/internal/yamlutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// AuthTokenEnv is the environment variable a worker reads its token from
// when --auth-token is not given. The engine hands its per-flow secret
// to child processes this way: argv is visible to every local user (ps,
// /proc/PID/cmdline), a process's environment only to its owner.
const AuthTokenEnv = "JIG_AUTH_TOKEN"

// AuthTokenFileEnv names a file holding the token, the way container
// orchestrators hand secrets over (a Compose secret mounted under
// /run/secrets): used when neither --auth-token, --auth-token-file nor
// $JIG_AUTH_TOKEN is set.
const AuthTokenFileEnv = "JIG_AUTH_TOKEN_FILE"

// authToken is the token the worker requires: --auth-token, else the
// first line of --auth-token-file, else $JIG_AUTH_TOKEN, else the file
// named by $JIG_AUTH_TOKEN_FILE, else none (an open worker, as a shared
// executor behind a Jina gateway needs). An unreadable or empty token
// file is an error, never an open worker.
func (f *Flags) authToken() (string, error) {
	if f.AuthToken != "" {
		return f.AuthToken, nil
	}
	if f.AuthTokenFile != "" {
		return readTokenFile("--auth-token-file", f.AuthTokenFile)
	}
	if tok := os.Getenv(AuthTokenEnv); tok != "" {
		return tok, nil
	}
	if path := os.Getenv(AuthTokenFileEnv); path != "" {
		return readTokenFile("$"+AuthTokenFileEnv, path)
	}
	return "", nil
}

// readTokenFile reads a token file; its content never appears in errors.
func readTokenFile(field, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &yamlutil.Error{Field: field, Msg: "read the token file: " + err.Error()}
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", &yamlutil.Error{Field: field, Msg: "the token file " + path + " is empty"}
	}
	return tok, nil
}

// AuthServerOptions make a server require "authorization: Bearer
// <token>" on every call but the health service's, which probes and
// orchestrators use without credentials. A call without the token ends
// with UNAUTHENTICATED before any handler runs.
func AuthServerOptions(token string) []grpc.ServerOption {
	check := func(ctx context.Context, method string) error {
		if strings.HasPrefix(method, "/grpc.health.v1.Health/") {
			return nil
		}
		md, _ := metadata.FromIncomingContext(ctx)
		if auth.BearerMatches(md.Get("authorization"), token) {
			return nil
		}
		return status.Error(codes.Unauthenticated, "this worker requires its token (metadata \"authorization: Bearer <token>\")")
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := check(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := check(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

// AuthDialOption makes a client send token on every call of a
// connection. It is allowed over plaintext loopback connections: the
// token guards against other local users, not against the network.
func AuthDialOption(token string) grpc.DialOption {
	return grpc.WithPerRPCCredentials(bearerCreds(token))
}

type bearerCreds string

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerCreds) RequireTransportSecurity() bool { return false }
