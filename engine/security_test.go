package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Security defaults, checked on a running engine: loopback-only listeners,
// TLS on the gateway, the bearer token, private workspace files.

// listeners returns the local addresses of the TCP sockets process pid
// listens on, from /proc (Linux): the socket inodes among its file
// descriptors, looked up in /proc/PID/net/tcp and tcp6.
func listeners(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] { // 0A: LISTEN
				continue
			}
			out = append(out, decodeProcAddr(t, fields[1]))
		}
		f.Close()
	}
	return out
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" into 127.0.0.1:8080
// (the IP is in host byte order, 32-bit words for IPv6).
func decodeProcAddr(t *testing.T, s string) string {
	hexIP, hexPort, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(hexIP)
	if err != nil {
		t.Fatalf("bad /proc address %q", s)
	}
	ip := make(net.IP, len(raw))
	for i := 0; i+4 <= len(raw); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, _ := strconv.ParseUint(hexPort, 16, 16)
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
}

// TestEverythingListensOnLoopbackByDefault: a flow that names no host
// (gateway gRPC + HTTP, a metrics port, in-process replicas, a stateful
// deployment with its RAFT transports, child-process workers) opens no
// socket beyond 127.0.0.1.
func TestEverythingListensOnLoopbackByDefault(t *testing.T) {
	yml := `
jtype: Flow
with: {protocol: [grpc, http], port_monitoring: %d}
executors:
  - {name: plain, uses: EngTagger, replicas: 2}
  - {name: state, uses: builtin:SimpleIndexer, stateful: true, replicas: 3}
`
	if !testing.Short() {
		yml += "  - {name: up, uses: upper, replicas: 2}\n"
	}
	eng := startFlowIn(t, "testdata", fmt.Sprintf(yml, freePort(t)))
	for _, a := range []string{eng.Addresses().GRPC, eng.Addresses().HTTP} {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("gateway address %s", a)
		}
	}
	pids := []int{os.Getpid()}
	for _, d := range eng.Status().Deployments {
		for _, r := range d.ReplicaStatus {
			if r.PID != 0 && r.PID != os.Getpid() {
				pids = append(pids, r.PID)
			}
		}
	}
	if !testing.Short() && len(pids) < 3 {
		t.Fatalf("child replicas missing: %v", pids)
	}
	total := 0
	for _, pid := range pids {
		for _, a := range listeners(t, pid) {
			total++
			if host, _, _ := net.SplitHostPort(a); host != "127.0.0.1" && host != "::1" {
				t.Errorf("process %d listens on %s: beyond loopback", pid, a)
			}
		}
	}
	// gateway gRPC, HTTP, metrics, and a worker + a RAFT transport per
	// stateful replica at least.
	if total < 3+2*3 {
		t.Fatalf("found only %d listening sockets: the check saw nothing", total)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 (its own
// CA) and its key into dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "jig test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func post(t *testing.T, addr string, opts ...client.Option) (docarray.DocList, error) {
	t.Helper()
	c, err := client.New(addr, append(opts, client.WithConnectTimeout(5*time.Second))...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	docs, _, err := c.Post(ctx, "/x", docarray.FromTexts("hi"), client.Retries(0))
	return docs, err
}

// TestGatewayTLS: with ssl_certfile/ssl_keyfile in the flow, gRPC and HTTP
// are served over TLS only: clients trusting the CA get answers over
// grpcs:// and https://; plaintext clients and clients that do not trust
// the certificate are refused.
func TestGatewayTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := selfSignedCert(t, dir)
	eng := startFlowIn(t, dir, `
jtype: Flow
with: {protocol: [grpc, http], ssl_certfile: cert.pem, ssl_keyfile: key.pem}
executors:
  - {name: a, uses: EngTagger}
`)
	g, h := eng.Addresses().GRPC, eng.Addresses().HTTP
	for _, addr := range []string{"grpcs://" + g, "https://" + h} {
		docs, err := post(t, addr, client.WithCAFile(certFile))
		if err != nil || len(docs) != 1 || docs[0].Text != "hi>a" {
			t.Fatalf("%s trusting the CA: %v %v", addr, docs, err)
		}
		if _, err := post(t, addr); err == nil {
			t.Fatalf("%s without trusting the self-signed certificate must fail", addr)
		}
	}
	for _, addr := range []string{"grpc://" + g, "http://" + h} {
		if docs, err := post(t, addr); err == nil {
			t.Fatalf("plaintext %s was served: %v", addr, docs)
		}
	}
	// A raw plaintext HTTP request gets no data either.
	if res, err := http.Get("http://" + h + "/status"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("plaintext HTTP served /status on a TLS gateway")
		}
	}
}

// TestGatewayTLSBadFiles: a missing or mismatched key is reported when the
// flow starts, naming the file.
func TestGatewayTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := selfSignedCert(t, dir)
	other := t.TempDir()
	selfSignedCert(t, other)
	for name, with := range map[string]string{
		"missing key":    fmt.Sprintf("{ssl_certfile: %s, ssl_keyfile: %s}", certFile, filepath.Join(dir, "nope.pem")),
		"mismatched key": fmt.Sprintf("{ssl_certfile: %s, ssl_keyfile: %s}", certFile, filepath.Join(other, "key.pem")),
	} {
		f, err := flow.Parse("test.yml", dir, []byte("jtype: Flow\nwith: "+with+"\nexecutors:\n  - {name: a, uses: EngTagger}\n"))
		if err != nil {
			t.Fatal(err)
		}
		eng, err := engine.Start(context.Background(), f, engine.Options{})
		if err == nil {
			eng.Stop(context.Background())
			t.Fatalf("%s: the flow started", name)
		}
		if !strings.Contains(err.Error(), "cert.pem") {
			t.Fatalf("%s: %v does not name the certificate", name, err)
		}
	}
}

// TestTokenRequiredAndNeverLogged: with auth_token set, gRPC calls without
// it get UNAUTHENTICATED and HTTP calls 401; with it they are served; and
// the token appears in no log line, at any level, anywhere.
func TestTokenRequiredAndNeverLogged(t *testing.T) {
	secret := "tok-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-s3cr3t"
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := flow.Parse("test.yml", t.TempDir(), []byte(fmt.Sprintf(`
jtype: Flow
with: {protocol: [grpc, http], auth_token: %s}
executors:
  - {name: a, uses: EngTagger}
`, secret)))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Start(context.Background(), f, engine.Options{Logger: logger, LogLevel: slog.LevelDebug})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			eng.Stop(context.Background())
		}
	}()
	g, h := eng.Addresses().GRPC, eng.Addresses().HTTP

	cc := dial(t, g)
	single := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	if _, err := single.ProcessSingleData(context.Background(), newReq("/x", nil, "a")); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC without token: %v", err)
	}
	wrong := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret+"x")
	if _, err := single.ProcessSingleData(wrong, newReq("/x", nil, "a")); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC with a wrong token: %v", err)
	}
	res, err := http.Post("http://"+h+"/x", "application/json", strings.NewReader(`{"data":[{"text":"a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("HTTP without token: %d", res.StatusCode)
	}
	for _, addr := range []string{"grpc://" + g, "http://" + h} {
		docs, err := post(t, addr, client.WithToken(secret))
		if err != nil || docs[0].Text != "hi>a" {
			t.Fatalf("%s with the token: %v %v", addr, docs, err)
		}
		if _, err := post(t, addr); err == nil || !strings.Contains(strings.ToLower(err.Error()), "token") {
			t.Fatalf("%s without the token: %v", addr, err)
		}
	}
	// A failing request too: errors are where secrets tend to leak.
	right := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
	if resp, err := single.ProcessSingleData(right, newReq("/fail", nil, "a")); err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_ERROR {
		t.Fatalf("/fail: %v %v", resp, err)
	}
	recent := eng.Bus().Recent()
	if err := eng.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if logs.Len() == 0 || len(recent) == 0 {
		t.Fatal("no logs captured: the check saw nothing")
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the token appears in the engine's logs:\n%s", logs.String())
	}
	for _, e := range recent {
		if s := fmt.Sprintf("%+v", e); strings.Contains(s, secret) {
			t.Fatalf("the token appears in an event: %s", s)
		}
	}
	if s := fmt.Sprintf("%+v", eng.Status()); strings.Contains(s, secret) {
		t.Fatalf("the token appears in the status shown by the TUI: %s", s)
	}
}

// syncWriter serialises writes of concurrent log handlers.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestWorkspaceFilesArePrivate: everything the engine and the executors
// write under the workspace (SimpleIndexer's files, RAFT logs, stable
// store and snapshots) is out of other users' reach: folders 0700, files
// 0600. The RAFT stores are written by hashicorp/raft (file snapshot
// store: folders 0755, files 0644) and raft-wal (segments and meta
// database 0644), whose modes are fixed in those libraries; jig confines
// them in the replica's RAFT folder, created 0700, so they are checked
// for that confinement instead.
func TestWorkspaceFilesArePrivate(t *testing.T) {
	ws := t.TempDir()
	eng := startFlow(t, fmt.Sprintf(`
jtype: Flow
with: {workspace: %s}
executors:
  - {name: idx, uses: builtin:SimpleIndexer}
  - {name: ridx, uses: builtin:SimpleIndexer, stateful: true, replicas: 3, needs: gateway}
`, ws))
	cc := dial(t, eng.Addresses().GRPC)
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := client.ProcessSingleData(ctx, docsReq("/index", docarray.DocList{{ID: fmt.Sprint("d", i), Text: "secret text"}}))
		cancel()
		if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
			t.Fatalf("index: %v %v", err, resp.GetHeader().GetStatus())
		}
	}
	snapped := false
	for _, r := range []int{0, 1, 2} {
		if err := eng.RaftSnapshot(context.Background(), "ridx", 0, r); err == nil {
			snapped = true
			break
		}
	}
	if !snapped {
		t.Fatal("no replica took a snapshot")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Stop(ctx); err != nil { // persists SimpleIndexer's state
		t.Fatal(err)
	}
	// raftStore reports whether rel (slash-separated, relative to ws) is
	// inside a library-managed RAFT store, and returns the replica's RAFT
	// folder that confines it: <dep>/raft/<shard>/<replica>.
	raftStore := func(rel string) (string, bool) {
		parts := strings.Split(rel, "/")
		if len(parts) >= 5 && parts[1] == "raft" && (parts[4] == "wal" || parts[4] == "snapshots") {
			return filepath.Join(ws, filepath.Join(parts[:4]...)), true
		}
		return "", false
	}
	strict, confined := 0, 0
	err := filepath.WalkDir(ws, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == ws {
			return nil // t.TempDir's own mode
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, ws+string(filepath.Separator)))
		perm := info.Mode().Perm()
		if box, ok := raftStore(rel); ok {
			bi, err := os.Stat(box)
			if err != nil {
				return err
			}
			if bi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is in %s, which is %v: other users can reach it", rel, box, bi.Mode().Perm())
			}
			confined++
			return nil
		}
		strict++
		if want := fs.FileMode(0o600); !d.IsDir() && perm != want {
			t.Errorf("file %s is %v, want %v", rel, perm, want)
		}
		if want := fs.FileMode(0o700); d.IsDir() && perm != want {
			t.Errorf("folder %s is %v, want %v", rel, perm, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d paths checked for 0700/0600, %d RAFT store paths checked for a 0700 confining folder", strict, confined)
	if strict < 6 || confined < 6 {
		t.Fatalf("only %d + %d paths in the workspace: the check saw too little", strict, confined)
	}
}
