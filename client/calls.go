package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DryRun checks that the gateway can serve requests: every executor of
// the flow is reachable (jina.JinaGatewayDryRunRPC/dry_run, or GET
// /dry_run). On a bare worker, which has no dry_run, it asks the gRPC
// health service instead. A gateway that answers "not ready" gives an
// error matching ErrNotReady; one that cannot be reached, ErrUnreachable.
func (c *Client) DryRun(ctx context.Context) error {
	if c.addr.IsHTTP() {
		return c.httpDryRun(ctx)
	}
	return c.grpcDryRun(ctx)
}

// WaitReady polls DryRun every interval (100 ms when <= 0) until it
// succeeds or ctx ends; then the error names the last failure. Errors
// that waiting cannot cure (a wrong token, an unknown service) are
// returned at once.
func (c *Client) WaitReady(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	timer := time.NewTimer(interval)
	timer.Stop()
	defer timer.Stop()
	var last error // the last answer other than ctx ending
	notReady := func() error {
		if last == nil {
			return fmt.Errorf("%s not ready: %w", c.addr, ctx.Err())
		}
		return fmt.Errorf("%s not ready: %w (last error: %v)", c.addr, ctx.Err(), last)
	}
	for {
		err := c.DryRun(ctx)
		if err == nil {
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return notReady()
		case status.Code(err) == codes.DeadlineExceeded || status.Code(err) == codes.Canceled:
			// The server saw the deadline pass before ctx did.
		case errors.Is(err, ErrNotReady) || errors.Is(err, ErrUnreachable) || status.Code(err) == codes.Unavailable:
			last = err
		default:
			return err
		}
		if c.conn != nil {
			// Reconnect at the next poll, not after grpc's own backoff.
			c.conn.ResetConnectBackoff()
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return notReady()
		case <-timer.C:
		}
	}
}

// Endpoints lists the endpoints the gateway (or worker) serves, with
// their document schemas (jina.JinaDiscoverEndpointsRPC/
// endpoint_discovery, or GET /endpoints).
func (c *Client) Endpoints(ctx context.Context) (*Endpoints, error) {
	if c.addr.IsHTTP() {
		return c.httpEndpoints(ctx)
	}
	return c.grpcEndpoints(ctx)
}

// Status returns the server's version and environment information
// (jina.JinaInfoRPC/_status, or GET /status).
func (c *Client) Status(ctx context.Context) (*Info, error) {
	if c.addr.IsHTTP() {
		return c.httpStatus(ctx)
	}
	return c.grpcStatus(ctx)
}
