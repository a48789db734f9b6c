package workercmd_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestMainArgs(t *testing.T) {
	var out, errb bytes.Buffer
	if code := workercmd.MainArgs([]string{"--uses", "builtin:Nope"}, &out, &errb); code != 2 {
		t.Fatalf("unknown builtin: exit %d, stderr %s", code, errb.String())
	}
	if code := workercmd.MainArgs([]string{"--log-format", "xml", "--uses", "WorkerTestCounter"}, &out, &errb); code != 2 {
		t.Fatalf("bad log format: exit %d", code)
	}
	if code := workercmd.MainArgs([]string{"--no-such-flag"}, &out, &errb); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code := workercmd.MainArgs([]string{"--uses", "WorkerTestCounter", "--port", "-5"}, &out, &errb); code != 2 {
		t.Fatalf("port out of range: exit %d", code)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	if code := workercmd.MainArgs([]string{"--uses", "WorkerTestCounter", "--port", port}, &out, &errb); code != 1 {
		t.Fatalf("listen failure (port in use): exit %d", code)
	}
}

func TestRunServesAndStops(t *testing.T) {
	f := &workerflags.Flags{Uses: "WorkerTestCounter", Host: "127.0.0.1", Replicas: 1, Shards: 1, GracePeriod: time.Second, LogLevel: "info"}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger, _ := workercmd.NewLogger(f, io.Discard)
	go func() { done <- workercmd.Run(ctx, f, pw, logger); pw.Close() }()
	line := make([]byte, 256)
	n, err := pr.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	ready, ok := workercmd.ParseReady(strings.TrimSpace(string(line[:n])))
	if !ok || !strings.HasPrefix(ready.Address, "127.0.0.1:") {
		t.Fatalf("ready line %q", line[:n])
	}
	go io.Copy(io.Discard, pr)
	conn, _ := grpc.NewClient(ready.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	if _, err := jinapb.NewJinaSingleDataRequestRPCClient(conn).ProcessSingleData(context.Background(), req("/x", "a")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
