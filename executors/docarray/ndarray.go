package docarray

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// NdArray is a dense n-dimensional array as numpy sends it: a raw
// little-endian buffer, a shape and a numpy dtype string ("<f4", "<i8", ...).
// Keeping the raw buffer means arrays pass through jig untouched; use the
// typed accessors (Float32s, Float64s) to compute on them.
type NdArray struct {
	// Dtype is the numpy dtype string, e.g. "<f4" (float32) or "<i8" (int64).
	Dtype string
	// Shape lists the size of each dimension; its product is the element count.
	Shape []int
	// Data is the little-endian element buffer, len(Data) == count*itemsize.
	Data []byte
	// Params carries NdArrayProto.parameters, kept so arrays round-trip.
	Params map[string]any
}

// dtypeSizes maps the numpy dtype strings jig understands to item sizes.
// "|" marks byte-order-free single-byte types, as numpy writes them.
var dtypeSizes = map[string]int{
	"<f2": 2, "<f4": 4, "<f8": 8,
	"|i1": 1, "<i2": 2, "<i4": 4, "<i8": 8,
	"|u1": 1, "<u2": 2, "<u4": 4, "<u8": 8,
	"|b1": 1,
}

// ItemSize returns the size in bytes of one element of dtype, or an error
// when jig does not know the dtype (big-endian arrays included: numpy sends
// them as ">f4" and jig refuses rather than misreading them).
func ItemSize(dtype string) (int, error) {
	if n, ok := dtypeSizes[dtype]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("unsupported dtype %q (want one of <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)", dtype)
}

// NewFloat32 returns a float32 ("<f4") array holding v. With no shape the
// array is one-dimensional.
func NewFloat32(v []float32, shape ...int) *NdArray {
	if len(shape) == 0 {
		shape = []int{len(v)}
	}
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	return &NdArray{Dtype: "<f4", Shape: slices.Clone(shape), Data: buf}
}

// NewFloat64 returns a float64 ("<f8") array holding v.
func NewFloat64(v []float64, shape ...int) *NdArray {
	if len(shape) == 0 {
		shape = []int{len(v)}
	}
	buf := make([]byte, 8*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(f))
	}
	return &NdArray{Dtype: "<f8", Shape: slices.Clone(shape), Data: buf}
}

// NewInt64 returns an int64 ("<i8") array holding v.
func NewInt64(v []int64, shape ...int) *NdArray {
	if len(shape) == 0 {
		shape = []int{len(v)}
	}
	buf := make([]byte, 8*len(v))
	for i, n := range v {
		binary.LittleEndian.PutUint64(buf[8*i:], uint64(n))
	}
	return &NdArray{Dtype: "<i8", Shape: slices.Clone(shape), Data: buf}
}

// Len returns the number of elements (the product of the shape).
func (a *NdArray) Len() int {
	if a == nil {
		return 0
	}
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Validate checks that the dtype is known and the buffer matches the shape.
func (a *NdArray) Validate() error {
	size, err := ItemSize(a.Dtype)
	if err != nil {
		return err
	}
	n := 1
	for _, d := range a.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", a.Shape)
		}
		if d > 0 && n > math.MaxInt32/d {
			return fmt.Errorf("shape %v is too large", a.Shape)
		}
		n *= d
	}
	if len(a.Data) != n*size {
		return fmt.Errorf("buffer of %d bytes does not fit shape %v of %s (want %d bytes)", len(a.Data), a.Shape, a.Dtype, n*size)
	}
	return nil
}

// Float64s returns the elements converted to float64, whatever the dtype.
func (a *NdArray) Float64s() ([]float64, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	size := dtypeSizes[a.Dtype]
	out := make([]float64, len(a.Data)/size)
	for i := range out {
		out[i] = a.at(i, size)
	}
	return out, nil
}

// Float32s returns the elements converted to float32, whatever the dtype.
func (a *NdArray) Float32s() ([]float32, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	size := dtypeSizes[a.Dtype]
	out := make([]float32, len(a.Data)/size)
	if a.Dtype == "<f4" {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
		}
		return out, nil
	}
	for i := range out {
		out[i] = float32(a.at(i, size))
	}
	return out, nil
}

// at reads element i as float64; the caller has validated the array.
func (a *NdArray) at(i, size int) float64 {
	b := a.Data[i*size:]
	switch a.Dtype {
	case "<f2":
		return float64(halfToFloat32(binary.LittleEndian.Uint16(b)))
	case "<f4":
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case "<f8":
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case "|i1":
		return float64(int8(b[0]))
	case "<i2":
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case "<i4":
		return float64(int32(binary.LittleEndian.Uint32(b)))
	case "<i8":
		return float64(int64(binary.LittleEndian.Uint64(b)))
	case "|u1", "|b1":
		return float64(b[0])
	case "<u2":
		return float64(binary.LittleEndian.Uint16(b))
	case "<u4":
		return float64(binary.LittleEndian.Uint32(b))
	case "<u8":
		return float64(binary.LittleEndian.Uint64(b))
	}
	return math.NaN()
}

// halfToFloat32 decodes an IEEE 754 half-precision float.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise it
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Clone returns a deep copy of a.
func (a *NdArray) Clone() *NdArray {
	if a == nil {
		return nil
	}
	return &NdArray{Dtype: a.Dtype, Shape: slices.Clone(a.Shape), Data: slices.Clone(a.Data), Params: cloneMap(a.Params)}
}
