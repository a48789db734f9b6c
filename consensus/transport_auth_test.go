package consensus

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestTransportRefusesUnauthenticatedPeers: with a secret, a raw
// connection to the RAFT transport (or one using another secret) never
// gets a byte to raft, while members with the secret talk.
func TestTransportRefusesUnauthenticatedPeers(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inner, err := newStreamLayer(lis)
	if err != nil {
		t.Fatal(err)
	}
	server := newAuthStreamLayer(inner, []byte("flow secret"))
	defer server.Close()
	addr := raft.ServerAddress(lis.Addr().String())

	// read accepts one connection and returns what raft would read.
	read := func() ([]byte, error) {
		c, err := server.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 5)
		_, err = io.ReadFull(c, buf)
		return buf, err
	}

	// A raw client that ignores the challenge and sends a RAFT request.
	raw, err := net.Dial("tcp", string(addr))
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(bytes.Repeat([]byte{0}, 64))
	if got, err := read(); !errors.Is(err, ErrTransportAuth) {
		t.Fatalf("raw connection: read %q, %v; want ErrTransportAuth", got, err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	// The challenge, then EOF or a reset: the connection is closed.
	if _, err := io.ReadAll(raw); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("raw connection not closed: %v", err)
		}
	}
	raw.Close()

	// A member with another secret.
	other := newAuthStreamLayer(inner, []byte("other flow"))
	errc := make(chan error, 1)
	go func() {
		c, err := other.Dial(addr, 5*time.Second)
		if err == nil {
			c.Write([]byte("hello"))
			defer c.Close()
		}
		errc <- err
	}()
	if got, err := read(); !errors.Is(err, ErrTransportAuth) {
		t.Fatalf("wrong secret: read %q, %v; want ErrTransportAuth", got, err)
	}
	<-errc

	// A member with the secret.
	go func() {
		c, err := server.Dial(addr, 5*time.Second)
		if err == nil {
			_, err = c.Write([]byte("hello"))
			defer c.Close()
		}
		errc <- err
	}()
	got, err := read()
	if err != nil || string(got) != "hello" {
		t.Fatalf("member: read %q, %v", got, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
