package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startTokenWorker serves builtin:Echo requiring token, as an exported
// worker does, and returns its address.
func startTokenWorker(t *testing.T, token string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	f := &workerflags.Flags{Uses: "builtin:Echo", AuthToken: token, Host: "127.0.0.1", Replicas: 1, Shards: 1,
		MaxMessageSize: worker.DefaultMaxMessageSize, GracePeriod: time.Second}
	go func() {
		err := workercmd.Run(ctx, f, pw, slog.New(slog.NewTextHandler(io.Discard, nil)))
		pw.CloseWithError(fmt.Errorf("worker ended: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if r, ok := workercmd.ParseReady(sc.Text()); ok {
			go io.Copy(io.Discard, pr) // the worker owns pw; this ends when Run does
			return r.Address
		}
	}
	t.Fatalf("worker: %v", sc.Err())
	return ""
}

// TestExternalAuthToken: an external deployment's auth_token (from the
// environment, as the exported Kubernetes gateway has it) or
// auth_token_file (a mounted secret, as in Compose) is sent to the
// external worker, which refuses calls without it. This is how an
// exported gateway reaches its workers.
func TestExternalAuthToken(t *testing.T) {
	addr := startTokenWorker(t, "exported-secret")
	cc := dial(t, addr)
	if _, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(context.Background(), newReq("/", nil, "x")); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without the token: %v, want UNAUTHENTICATED", err)
	}
	t.Setenv("JIG_TEST_EXTERNAL_TOKEN", "exported-secret")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("exported-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{
		"auth_token":      `auth_token: "${{ ENV.JIG_TEST_EXTERNAL_TOKEN }}"`,
		"auth_token_file": "auth_token_file: " + file,
	} {
		t.Run(name, func(t *testing.T) {
			front := startFlow(t, fmt.Sprintf("jtype: Flow\nexecutors:\n  - name: e\n    external: true\n    host: [%s]\n    %s\n", addr, key))
			_, docs := send(t, dial(t, front.Addresses().GRPC), newReq("/", nil, "hello"))
			if len(docs) != 1 {
				t.Fatalf("docs %v", docs)
			}
		})
	}
}
