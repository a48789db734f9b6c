// Package rawcodec sends gRPC messages that are already encoded: load
// generators encode a request once and send the same bytes on every call,
// and read answers without decoding them, so the client's own cost stays
// far below the servers' it measures. The codec is named "proto", so on
// the wire it is the same application/grpc+proto message a protobuf
// client sends, and servers decode it with their own codec.
package rawcodec

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
)

// Msg is one encoded message. Sent, B goes out as it is. Received, B
// holds the answer's bytes only when Keep is set (copying them costs the
// load generator time it should not spend when it only counts answers).
type Msg struct {
	B    []byte
	Keep bool
}

// Codec passes Msg bytes through untouched.
type Codec struct{}

// Name is "proto": the message is protobuf, only already encoded.
func (Codec) Name() string { return "proto" }

// Marshal returns m.B without copying it.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*Msg)
	if !ok {
		return nil, fmt.Errorf("rawcodec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.B)}, nil
}

// Unmarshal copies the received bytes into m.B when m.Keep is set.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*Msg)
	if !ok {
		return fmt.Errorf("rawcodec: cannot unmarshal into %T", v)
	}
	if m.Keep {
		m.B = data.Materialize()
	}
	return nil
}

// CallOption makes a call or stream use Codec.
func CallOption() grpc.CallOption { return grpc.ForceCodecV2(Codec{}) }
