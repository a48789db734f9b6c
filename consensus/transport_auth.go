package consensus

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// ErrTransportAuth is the error of a RAFT transport connection whose peer
// did not prove it knows the flow's secret.
var ErrTransportAuth = errors.New("raft transport: peer did not authenticate (UNAUTHENTICATED)")

// handshakeTimeout bounds the handshake of one connection.
const handshakeTimeout = 5 * time.Second

// authStreamLayer makes every RAFT transport connection prove knowledge
// of a shared secret before raft reads a byte from it: the accepting side
// sends a random 32-byte challenge, the dialling side answers
// HMAC-SHA256(secret, label || challenge), and the acceptor closes the
// connection on a wrong answer. Without it, any local process could
// connect to a replica's RAFT port and send AppendEntries. The secret
// never travels; a recorded answer is useless for another challenge.
//
// The acceptor's half runs on the connection's first Read (in raft's
// per-connection goroutine), so a peer that connects and stays silent
// cannot stall Accept for the others.
type authStreamLayer struct {
	raft.StreamLayer
	secret []byte
}

const handshakeLabel = "jig raft transport v1\x00"

func newAuthStreamLayer(inner raft.StreamLayer, secret []byte) *authStreamLayer {
	return &authStreamLayer{StreamLayer: inner, secret: secret}
}

func (a *authStreamLayer) mac(challenge []byte) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(handshakeLabel))
	m.Write(challenge)
	return m.Sum(nil)
}

// Accept returns the next connection; its handshake runs on first Read.
func (a *authStreamLayer) Accept() (net.Conn, error) {
	c, err := a.StreamLayer.Accept()
	if err != nil {
		return nil, err
	}
	return &authConn{Conn: c, a: a}, nil
}

// Dial connects and answers the acceptor's challenge.
func (a *authStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := a.StreamLayer.Dial(address, timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	challenge := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, challenge); err != nil {
		c.Close()
		return nil, fmt.Errorf("raft transport: handshake with %s: %w", address, err)
	}
	if _, err := c.Write(a.mac(challenge)); err != nil {
		c.Close()
		return nil, fmt.Errorf("raft transport: handshake with %s: %w", address, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// authConn is an accepted connection that authenticates its peer before
// its first Read returns data.
type authConn struct {
	net.Conn
	a    *authStreamLayer
	once sync.Once
	err  error
}

func (c *authConn) Read(p []byte) (int, error) {
	c.once.Do(func() { c.err = c.handshake() })
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

func (c *authConn) handshake() error {
	c.Conn.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.Conn.SetDeadline(time.Time{})
	challenge := make([]byte, sha256.Size)
	rand.Read(challenge)
	if _, err := c.Conn.Write(challenge); err != nil {
		c.Conn.Close()
		return fmt.Errorf("raft transport: handshake: %w", err)
	}
	answer := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c.Conn, answer); err != nil || !hmac.Equal(answer, c.a.mac(challenge)) {
		c.Conn.Close()
		return ErrTransportAuth
	}
	return nil
}
