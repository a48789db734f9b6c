package export

import (
	"errors"
	"math"
	"math/big"
	"strings"
)

// quantity is a Kubernetes resource quantity ("500m", "2", "1Gi",
// "1e3"), parsed by the grammar of apimachinery's resource.Quantity:
//
//	quantity       ::= signedNumber suffix
//	signedNumber   ::= [+-] number
//	number         ::= digits | digits "." [digits] | "." digits
//	suffix         ::= binarySI | decimalSI | ("e" | "E") [+-] digits
//	binarySI       ::= Ki | Mi | Gi | Ti | Pi | Ei
//	decimalSI      ::= n | u | m | "" | k | M | G | T | P | E
//
// Manifests keep the user's spelling, which the API server canonicalises
// itself ("0.5" is stored as "500m"); compose needs the value.
type quantity struct{ r *big.Rat }

var errQuantity = errors.New("not a Kubernetes quantity")

// parseQuantity parses s, or fails with errQuantity.
func parseQuantity(s string) (quantity, error) {
	if s == "" {
		return quantity{}, errQuantity
	}
	num, suffix := splitQuantity(s)
	if !validNumber(num) {
		return quantity{}, errQuantity
	}
	// big.Rat wants a digit on both sides of the dot ("1." and ".5" are
	// quantities).
	sign, digits := "", num
	if num != "" && (num[0] == '+' || num[0] == '-') {
		sign, digits = num[:1], num[1:]
	}
	if strings.HasPrefix(digits, ".") {
		digits = "0" + digits
	}
	if digits == "" || strings.HasSuffix(digits, ".") {
		digits += "0"
	}
	num = sign + digits
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return quantity{}, errQuantity
	}
	mul, ok := suffixFactor(suffix)
	if !ok {
		return quantity{}, errQuantity
	}
	return quantity{r.Mul(r, mul)}, nil
}

// splitQuantity splits s after its number: the sign, digits and one dot.
func splitQuantity(s string) (num, suffix string) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	return s[:i], s[i:]
}

// validNumber checks the number part (splitQuantity kept only a sign,
// digits and dots): at most one dot. Like Kubernetes, it accepts no
// digits at all ("m", "Gi" and "." are zero).
func validNumber(n string) bool {
	return strings.Count(n, ".") <= 1
}

// suffixFactor is the multiplier a suffix stands for.
func suffixFactor(s string) (*big.Rat, bool) {
	pow := func(base, exp int64) *big.Rat {
		if exp >= 0 {
			return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(base), big.NewInt(exp), nil))
		}
		return new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(base), big.NewInt(-exp), nil))
	}
	switch s {
	case "":
		return pow(10, 0), true
	case "n":
		return pow(10, -9), true
	case "u":
		return pow(10, -6), true
	case "m":
		return pow(10, -3), true
	case "k":
		return pow(10, 3), true
	case "M":
		return pow(10, 6), true
	case "G":
		return pow(10, 9), true
	case "T":
		return pow(10, 12), true
	case "P":
		return pow(10, 15), true
	case "E":
		return pow(10, 18), true
	case "Ki":
		return pow(2, 10), true
	case "Mi":
		return pow(2, 20), true
	case "Gi":
		return pow(2, 30), true
	case "Ti":
		return pow(2, 40), true
	case "Pi":
		return pow(2, 50), true
	case "Ei":
		return pow(2, 60), true
	}
	if len(s) < 2 || (s[0] != 'e' && s[0] != 'E') {
		return nil, false
	}
	exp := s[1:]
	neg := false
	if exp[0] == '+' || exp[0] == '-' {
		neg, exp = exp[0] == '-', exp[1:]
	}
	if exp == "" || len(exp) > 3 || strings.Trim(exp, "0123456789") != "" {
		return nil, false
	}
	e := int64(0)
	for _, c := range exp {
		e = e*10 + int64(c-'0')
	}
	if neg {
		e = -e
	}
	return pow(10, e), true
}

// value is the quantity rounded away from zero to an integer
// (resource.Quantity.Value), clamped to the int64 range.
func (q quantity) value() int64 {
	n, d := q.r.Num(), q.r.Denom()
	z, m := new(big.Int).QuoRem(n, d, new(big.Int))
	if m.Sign() != 0 {
		z.Add(z, big.NewInt(int64(m.Sign())))
	}
	if !z.IsInt64() {
		if z.Sign() > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return z.Int64()
}

// float is the quantity as a float64 (resource.Quantity.AsApproximateFloat64).
func (q quantity) float() float64 {
	f, _ := q.r.Float64()
	return f
}
