// Package docarraypb holds the Go code generated from proto/docarray.proto:
// docarray 0.40's document wire format (DocProto, NodeProto, DocListProto).
//
// Regenerate with `make proto`; do not edit the *.pb.go files by hand.
package docarraypb
