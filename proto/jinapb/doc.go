// Package jinapb holds the Go code generated from proto/jina.proto: Jina 3's
// request messages (DataRequestProto, HeaderProto, StatusProto, ...) and its
// gRPC services (JinaRPC, JinaSingleDataRequestRPC, ...).
//
// Regenerate with `make proto`; do not edit the *.pb.go files by hand.
package jinapb
