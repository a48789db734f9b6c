package worker

import (
	"context"
	"strings"

	"github.com/jig-dev/jig/internal/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

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
