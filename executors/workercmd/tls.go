package workercmd

import (
	"crypto/tls"

	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/internal/yamlutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// tlsServerOptions are the server options of --ssl-certfile and
// --ssl-keyfile: none without them, an error (exit code 2) with only one
// or with files that do not hold a matching certificate and key. A
// standalone executor other machines' flows call uses them with
// --auth-token, so the token does not cross the network in clear.
func tlsServerOptions(f *workerflags.Flags) ([]grpc.ServerOption, error) {
	if f.SSLCertfile == "" && f.SSLKeyfile == "" {
		return nil, nil
	}
	if f.SSLCertfile == "" || f.SSLKeyfile == "" {
		return nil, &yamlutil.Error{Field: "--ssl-certfile", Msg: "--ssl-certfile and --ssl-keyfile go together"}
	}
	cert, err := tls.LoadX509KeyPair(f.SSLCertfile, f.SSLKeyfile)
	if err != nil {
		return nil, &yamlutil.Error{Field: "--ssl-certfile", Msg: "load the certificate and key: " + err.Error()}
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return []grpc.ServerOption{grpc.Creds(creds)}, nil
}
