package consensus

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is raft's TCP stream layer over a listener the node owns. It
// differs from raft.TCPStreamLayer in two ways: it accepts a listener bound
// by the caller (so ports can be reserved before Peers are built), and
// Close also closes the connections it accepted. raft's NetworkTransport
// serves each inbound connection in a goroutine that only stops when the
// remote hangs up; without this, a shut-down node would keep goroutines
// (and half its state) alive for as long as its peers run.
type streamLayer struct {
	lis net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func newStreamLayer(lis net.Listener) (*streamLayer, error) {
	addr, ok := lis.Addr().(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("raft transport: %s is not a TCP address", lis.Addr())
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		// Other members dial the address the listener reports.
		return nil, fmt.Errorf("raft transport: bind address %s is not advertisable: use a concrete IP such as 127.0.0.1", addr)
	}
	return &streamLayer{lis: lis, conns: map[net.Conn]struct{}{}}, nil
}

func (s *streamLayer) Accept() (net.Conn, error) {
	c, err := s.lis.Accept()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	s.conns[c] = struct{}{}
	return &trackedConn{Conn: c, s: s}, nil
}

func (s *streamLayer) Addr() net.Addr { return s.lis.Addr() }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(address), timeout)
}

// Close closes the listener and every accepted connection.
func (s *streamLayer) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	err := s.lis.Close()
	for c := range conns {
		c.Close()
	}
	return err
}

type trackedConn struct {
	net.Conn
	s    *streamLayer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c.Conn)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// addressBook resolves server IDs to RAFT addresses at dial time, from the
// static Peers and the peers announced through the log, so members are
// found even when the address stored in the RAFT configuration is stale
// (ports changed across a restart). Unknown IDs fall back to the stored
// address.
type addressBook struct{ n *Node }

func (b addressBook) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	p, ok := b.n.peer(string(id))
	if !ok || p.RaftAddr == "" {
		return "", fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	return raft.ServerAddress(p.RaftAddr), nil
}

// newTransport is the RAFT transport of a member: raft's NetworkTransport
// over a streamLayer on lis, with the pool and I/O timeout of cfg. addrs
// resolves server IDs at dial time (nil: the addresses stored in the RAFT
// configuration). Node and Bare both use it, so the bare-raft benchmark
// baseline runs on exactly jig's transport.
func newTransport(lis net.Listener, cfg *Config, addrs raft.ServerAddressProvider, logger *slog.Logger) (*raft.NetworkTransport, error) {
	inner, err := newStreamLayer(lis)
	if err != nil {
		return nil, err
	}
	var stream raft.StreamLayer = inner
	if len(cfg.TransportSecret) > 0 {
		stream = newAuthStreamLayer(inner, cfg.TransportSecret)
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		ServerAddressProvider: addrs,
		Logger:                newHCLog(logger, "raft-net"),
		Stream:                stream,
		MaxPool:               cfg.TransportMaxPool,
		Timeout:               cfg.TransportTimeout,
	}), nil
}
