package rawcodec

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
)

func TestRoundTrip(t *testing.T) {
	in := []byte{0x0a, 0x02, 'h', 'i'}
	bs, err := Codec{}.Marshal(&Msg{B: in})
	if err != nil || !bytes.Equal(bs.Materialize(), in) {
		t.Fatalf("marshal: %x, %v", bs.Materialize(), err)
	}
	kept := Msg{Keep: true}
	if err := (Codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(in)}, &kept); err != nil || !bytes.Equal(kept.B, in) {
		t.Fatalf("kept: %x, %v", kept.B, err)
	}
	var dropped Msg
	if err := (Codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(in)}, &dropped); err != nil || dropped.B != nil {
		t.Fatalf("not kept: %x, %v", dropped.B, err)
	}
	if _, err := (Codec{}).Marshal("x"); err == nil {
		t.Fatal("marshalled a string")
	}
	if err := (Codec{}).Unmarshal(nil, new(int)); err == nil {
		t.Fatal("unmarshalled into an int")
	}
}
