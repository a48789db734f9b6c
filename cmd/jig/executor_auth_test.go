package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// startExecutor runs `jig executor ARGS` as a process and returns the
// address from its ready line.
func startExecutor(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"executor", "--uses", "builtin:Echo", "--port", "0"}, args...)...)
	cmd.Env = append(append(os.Environ(), cliEnv+"=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if r, ok := workercmd.ParseReady(sc.Text()); ok {
			go func() { // drain
				for sc.Scan() {
				}
			}()
			return r.Address
		}
	}
	t.Fatal("jig executor exited before its ready line")
	return ""
}

// callEcho sends one request to addr with the given token ("" none).
func callEcho(t *testing.T, addr, token string) error {
	t.Helper()
	return callEchoCreds(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()), token)
}

// callEchoCreds is callEcho over the transport creds gives.
func callEchoCreds(t *testing.T, addr string, creds grpc.DialOption, token string) error {
	t.Helper()
	opts := []grpc.DialOption{creds}
	if token != "" {
		opts = append(opts, worker.AuthDialOption(token))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check (always open): %v %v", r, err)
	}
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: docarray.NewID(), ExecEndpoint: proto.String("/")}}
	if err := executors.SetRequestDocs(req, docarray.DocList{{Text: "hi"}}); err != nil {
		t.Fatal(err)
	}
	_, err = jinapb.NewJinaSingleDataRequestRPCClient(conn).ProcessSingleData(ctx, req)
	return err
}

// TestExecutorAuthToken: a standalone `jig executor` is open by default
// (a shared executor behind any gateway, Jina's included) and, started
// with --auth-token (or $JIG_AUTH_TOKEN, how the engine passes its
// secret to child replicas), refuses callers without it.
func TestExecutorAuthToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jig processes")
	}
	t.Run("open by default", func(t *testing.T) {
		t.Parallel()
		if err := callEcho(t, startExecutor(t, []string{workerflags.AuthTokenEnv + "="}), ""); err != nil {
			t.Fatal(err)
		}
	})
	for name, how := range map[string]struct {
		env  []string
		args []string
	}{
		"flag": {args: []string{"--auth-token", "s3cret"}},
		"env":  {env: []string{workerflags.AuthTokenEnv + "=s3cret"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := startExecutor(t, how.env, how.args...)
			for _, tok := range []string{"", "wrong"} {
				if err := callEcho(t, addr, tok); status.Code(err) != codes.Unauthenticated {
					t.Errorf("token %q: %v, want UNAUTHENTICATED", tok, err)
				}
			}
			if err := callEcho(t, addr, "s3cret"); err != nil {
				t.Fatalf("with the token: %v", err)
			}
		})
	}
}
