package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors/workerflags"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestExecutorAuthTokenFile: --auth-token-file and $JIG_AUTH_TOKEN_FILE
// (how exported containers get their secret, a mounted file) make the
// executor require the file's token; a missing or empty file is bad
// input (exit code 2), never an open executor.
func TestExecutorAuthTokenFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jig processes")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, how := range map[string]struct {
		env  []string
		args []string
	}{
		"flag": {env: []string{workerflags.AuthTokenEnv + "="}, args: []string{"--auth-token-file", file}},
		"env":  {env: []string{workerflags.AuthTokenEnv + "=", workerflags.AuthTokenFileEnv + "=" + file}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := startExecutor(t, how.env, how.args...)
			for _, tok := range []string{"", "wrong", "from-a-filex"} {
				if err := callEcho(t, addr, tok); status.Code(err) != codes.Unauthenticated {
					t.Errorf("token %q: %v, want UNAUTHENTICATED", tok, err)
				}
			}
			if err := callEcho(t, addr, "from-a-file"); err != nil {
				t.Fatalf("with the file's token: %v", err)
			}
		})
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, bad := range []string{empty, filepath.Join(dir, "missing")} {
		cmd := exec.Command(os.Args[0], "executor", "--uses", "builtin:Echo", "--port", "0", "--auth-token-file", bad)
		cmd.Env = append(os.Environ(), cliEnv+"=1", workerflags.AuthTokenEnv+"=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--auth-token-file") {
			t.Fatalf("--auth-token-file %s: %v, want exit code 2 naming the flag\n%s", bad, err, out)
		}
	}
}

// TestExecutorTLS: `jig executor --ssl-certfile --ssl-keyfile
// --auth-token` serves TLS and requires the token: plaintext callers get
// nothing, TLS callers without the token UNAUTHENTICATED, TLS callers
// with it their answer; health stays open over TLS. One of the two
// files alone is bad input (exit code 2).
func TestExecutorTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jig processes")
	}
	cert, key := writeCert(t, t.TempDir())
	addr := startExecutor(t, []string{workerflags.AuthTokenEnv + "="}, "--ssl-certfile", cert, "--ssl-keyfile", key, "--auth-token", "s3cret")

	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tlsCreds := grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err := callEchoCreds(t, addr, tlsCreds, ""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("TLS without the token: %v, want UNAUTHENTICATED", err)
	}
	if err := callEchoCreds(t, addr, tlsCreds, "s3cret"); err != nil {
		t.Fatalf("TLS with the token: %v", err)
	}
	// Plaintext: the handshake never completes, so even health fails.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Fatal("a plaintext health check got an answer from a TLS executor")
	}

	cmd := exec.Command(os.Args[0], "executor", "--uses", "builtin:Echo", "--port", "0", "--ssl-certfile", cert)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("--ssl-certfile alone: %v, want exit code 2\n%s", err, out)
	}
}
