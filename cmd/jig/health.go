package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func init() {
	subcommands = append(subcommands, newHealthCmd)
}

// newHealthCmd is `jig health ADDR`: the healthcheck of exported Compose
// services that run the jig image (images have no shell and no
// grpc_health_probe). Kubernetes does not need it: its probes speak gRPC
// health natively.
func newHealthCmd() *cobra.Command {
	var (
		timeout time.Duration
		useTLS  bool
		service string
	)
	cmd := &cobra.Command{
		Use:   "health ADDR",
		Short: "Exit 0 when the gRPC health service at ADDR reports SERVING",
		Long: `Ask the grpc.health.v1 service at ADDR (a gateway or a worker) for its
status; exit 0 when it is SERVING, 1 otherwise. Used as the healthcheck of
Compose services exported by 'jig export compose'.`,
		Example: `  jig health 127.0.0.1:8080
  jig health 127.0.0.1:12345 --tls`,
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			creds := insecure.NewCredentials()
			if useTLS {
				// A local liveness check of our own server: the point is
				// whether it answers, not who it is.
				creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec
			}
			cc, err := grpc.NewClient(args[0], grpc.WithTransportCredentials(creds))
			if err != nil {
				return &usageError{fmt.Errorf("address %q: %w", args[0], err)}
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
			if err != nil {
				return fmt.Errorf("health of %s: %w", args[0], err)
			}
			if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("%s is %s", args[0], st)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is SERVING\n", args[0])
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	cmd.Flags().BoolVar(&useTLS, "tls", false, "connect with TLS (the certificate is not verified)")
	cmd.Flags().StringVar(&service, "service", "", "health service name to ask about (\"\" is the whole server)")
	return cmd
}
