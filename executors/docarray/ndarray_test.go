package docarray

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// le encodes unsigned values little-endian, size bytes each: the buffers
// numpy's tobytes() gives.
func le(size int, v ...uint64) []byte {
	b := make([]byte, size*len(v))
	for i, n := range v {
		putUint(b[size*i:], n, size)
	}
	return b
}

// TestNdArrayAccessors: Float64s and Float32s read every dtype.
func TestNdArrayAccessors(t *testing.T) {
	inf := math.Inf(1)
	negZero := math.Copysign(0, -1)
	for _, tc := range []struct {
		dtype string
		data  []byte
		want  []float64
	}{
		// Half floats: 1, -2.5, the smallest and largest subnormals, the
		// largest normal, ±Inf, -0.
		{"<f2", le(2, 0x3c00, 0xc100, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00, 0x8000),
			[]float64{1, -2.5, math.Ldexp(1, -24), math.Ldexp(1023, -24), 65504, inf, -inf, negZero}},
		{"<f4", f32le(1.5, -0.25, float32(math.Inf(-1)), math.SmallestNonzeroFloat32), []float64{1.5, -0.25, -inf, float64(float32(math.SmallestNonzeroFloat32))}},
		{"<f8", f64le(0.1, -1e300, negZero), []float64{0.1, -1e300, negZero}},
		{"|i1", []byte{0x80, 0x7f, 0xff}, []float64{-128, 127, -1}},
		{"<i2", le(2, 0x8000, 0x7fff), []float64{-32768, 32767}},
		{"<i4", le(4, 0x80000000, 7), []float64{math.MinInt32, 7}},
		{"<i8", le(8, 1<<63, math.MaxUint64, 1<<62), []float64{math.MinInt64, -1, 1 << 62}},
		{"|u1", []byte{0, 255}, []float64{0, 255}},
		{"<u2", le(2, 65535), []float64{65535}},
		{"<u4", le(4, math.MaxUint32), []float64{math.MaxUint32}},
		{"<u8", le(8, math.MaxUint64), []float64{math.MaxUint64}},
		{"|b1", []byte{1, 0, 1}, []float64{1, 0, 1}},
	} {
		t.Run(tc.dtype, func(t *testing.T) {
			a := &NdArray{Dtype: tc.dtype, Shape: []int{len(tc.want)}, Data: tc.data}
			f64, err := a.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			f32, err := a.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			if len(f64) != len(tc.want) || len(f32) != len(tc.want) {
				t.Fatalf("lengths %d, %d, want %d", len(f64), len(f32), len(tc.want))
			}
			for i, w := range tc.want {
				if math.Float64bits(f64[i]) != math.Float64bits(w) {
					t.Errorf("Float64s[%d] = %v, want %v", i, f64[i], w)
				}
				if math.Float32bits(f32[i]) != math.Float32bits(float32(w)) {
					t.Errorf("Float32s[%d] = %v, want %v", i, f32[i], float32(w))
				}
			}
		})
	}
}

// TestNdArrayNaN: NaN reads as NaN from every float dtype; float32 keeps
// its payload bits.
func TestNdArrayNaN(t *testing.T) {
	for _, a := range []*NdArray{
		{Dtype: "<f2", Shape: []int{1}, Data: le(2, 0x7e00)},
		{Dtype: "<f4", Shape: []int{1}, Data: le(4, 0x7fc00001)},
		{Dtype: "<f8", Shape: []int{1}, Data: le(8, math.Float64bits(math.NaN()))},
	} {
		f64, err := a.Float64s()
		if err != nil || !math.IsNaN(f64[0]) {
			t.Errorf("%s: Float64s = %v, %v", a.Dtype, f64, err)
		}
		f32, err := a.Float32s()
		if err != nil || !math.IsNaN(float64(f32[0])) {
			t.Errorf("%s: Float32s = %v, %v", a.Dtype, f32, err)
		}
		if a.Dtype == "<f4" && math.Float32bits(f32[0]) != 0x7fc00001 {
			t.Errorf("<f4 NaN payload lost: %#x", math.Float32bits(f32[0]))
		}
	}
}

// TestNdArrayHalfExhaustive: every half float decodes to the float32 of the
// same value (checked against float32 → half rounding, which is exact for
// values a half can hold).
func TestNdArrayHalfExhaustive(t *testing.T) {
	for h := range uint32(1 << 16) {
		f := halfToFloat32(uint16(h))
		exp, frac := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && frac != 0:
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%#04x: %v, want NaN", h, f)
			}
			continue
		case exp == 0x1f:
			want = math.Inf(1)
		case exp == 0:
			want = math.Ldexp(float64(frac), -24)
		default:
			want = math.Ldexp(float64(frac|0x400), int(exp)-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if math.Float32bits(f) != math.Float32bits(float32(want)) {
			t.Fatalf("%#04x: %v, want %v", h, f, want)
		}
	}
}

// TestNdArrayErrors: the accessors refuse what they cannot read.
func TestNdArrayErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    *NdArray
		want string
	}{
		{"unknown dtype", &NdArray{Dtype: "<c8", Shape: []int{1}, Data: make([]byte, 8)}, `unsupported dtype "<c8"`},
		{"big-endian", &NdArray{Dtype: ">f4", Shape: []int{1}, Data: make([]byte, 4)}, `unsupported dtype ">f4"`},
		{"<i1 is spelled |i1", &NdArray{Dtype: "<i1", Shape: []int{1}, Data: make([]byte, 1)}, "unsupported dtype"},
		{"short buffer", &NdArray{Dtype: "<f4", Shape: []int{2, 2}, Data: make([]byte, 15)}, "buffer of 15 bytes does not fit shape [2 2] of <f4 (want 16 bytes)"},
		{"long buffer", &NdArray{Dtype: "|u1", Shape: []int{}, Data: make([]byte, 2)}, "want 1 bytes"},
		{"negative dim", &NdArray{Dtype: "<f8", Shape: []int{-1}}, "negative dimension"},
		{"overflow", &NdArray{Dtype: "<f8", Shape: []int{1 << 20, 1 << 20}}, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.a.Float64s(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Float64s: %v, want %q", err, tc.want)
			}
			if _, err := tc.a.Float32s(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Float32s: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestNdArrayConstructors covers NewFloat32/NewFloat64/NewInt64, Len and
// ItemSize.
func TestNdArrayConstructors(t *testing.T) {
	shape := []int{2, 1}
	a := NewFloat32([]float32{1, 2}, shape...)
	shape[0] = 9 // the array must own its shape
	if a.Shape[0] != 2 || a.Len() != 2 || a.Dtype != "<f4" {
		t.Errorf("NewFloat32: %+v", a)
	}
	if got, _ := a.Float32s(); got[1] != 2 {
		t.Errorf("Float32s = %v", got)
	}
	if b := NewFloat64([]float64{1, 2, 3}); b.Len() != 3 || len(b.Shape) != 1 || binary.LittleEndian.Uint64(b.Data[8:]) != math.Float64bits(2) {
		t.Errorf("NewFloat64: %+v", b)
	}
	if c := NewInt64([]int64{-1}); c.Dtype != "<i8" || binary.LittleEndian.Uint64(c.Data) != math.MaxUint64 {
		t.Errorf("NewInt64: %+v", c)
	}
	if n := (*NdArray)(nil).Len(); n != 0 {
		t.Errorf("nil Len = %d", n)
	}
	if n := (&NdArray{Dtype: "<f4"}).Len(); n != 1 {
		t.Errorf("scalar Len = %d, want 1", n)
	}
	if n := (&NdArray{Dtype: "<f4", Shape: []int{3, 0}}).Len(); n != 0 {
		t.Errorf("empty Len = %d, want 0", n)
	}
	for _, dt := range knownDtypes() {
		size, err := ItemSize(dt)
		if err != nil || size != dtypeSizes[dt] {
			t.Errorf("ItemSize(%q) = %d, %v", dt, size, err)
		}
	}
	if (*NdArray)(nil).Clone() != nil {
		t.Error("Clone of a nil array is not nil")
	}
}
