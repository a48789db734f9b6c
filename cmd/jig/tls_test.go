package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/waitfor"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jig"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyFile
}

// TestUpTLSFlags: `jig up --ssl-certfile --ssl-keyfile` serves the gateway
// over TLS (the banner says grpcs:// and https://), and a client trusting
// the certificate gets answers on both; plaintext gets none.
func TestUpTLSFlags(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	flowFile := filepath.Join(dir, "flow.yml")
	os.WriteFile(flowFile, []byte("jtype: Flow\nwith: {protocol: [grpc, http]}\nexecutors: [{name: e, uses: builtin:Echo}]\n"), 0o600)

	root := newRootCmd()
	var out, errOut lockedBuffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"up", flowFile, "--headless", "--ssl-certfile", cert, "--ssl-keyfile", key})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("jig up: %v", err)
		}
	}()
	re := regexp.MustCompile(`gRPC\s+(grpcs://\S+)\n\s+HTTP\s+(https://\S+)`)
	var m []string
	waitfor.Value(t, "the TLS banner", 20*time.Second, func() (string, bool) {
		m = re.FindStringSubmatch(out.String())
		return "stdout:\n" + out.String() + "\nstderr:\n" + errOut.String(), m != nil
	})
	for _, addr := range m[1:] {
		c, err := client.New(addr, client.WithCAFile(cert))
		if err != nil {
			t.Fatal(err)
		}
		pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
		docs, _, err := c.Post(pctx, "/x", docarray.FromTexts("hi"))
		pcancel()
		c.Close()
		if err != nil || len(docs) != 1 || docs[0].Text != "hi" {
			t.Fatalf("%s: %v %v", addr, docs, err)
		}
		plain := regexp.MustCompile(`^(grpc|http)s`).ReplaceAllString(addr, "$1")
		c, err = client.New(plain, client.WithConnectTimeout(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		pctx, pcancel = context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err = c.Post(pctx, "/x", docarray.FromTexts("hi"), client.Retries(0))
		pcancel()
		c.Close()
		if err == nil {
			t.Fatalf("plaintext %s was served by a TLS gateway", plain)
		}
	}
}
