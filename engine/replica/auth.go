package replica

import (
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"google.golang.org/grpc"
)

// authEnv is the environment entry that hands a child process its token
// (empty: the variable is set empty, so a token in the engine's own
// environment is not inherited by accident).
func authEnv(token string) string {
	return workerflags.AuthTokenEnv + "=" + token
}

// authDial are the dial options sending token (none without one).
func authDial(token string) []grpc.DialOption {
	if token == "" {
		return nil
	}
	return []grpc.DialOption{worker.AuthDialOption(token)}
}

// authServer are the server options requiring token (none without one).
func authServer(token string) []grpc.ServerOption {
	if token == "" {
		return nil
	}
	return worker.AuthServerOptions(token)
}
