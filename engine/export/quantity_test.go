package export

import (
	"math"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// TestQuantityMatchesKubernetes checks parseQuantity against
// apimachinery's resource.ParseQuantity (which the export used to link):
// the same strings are accepted, with the same Value and (to the last
// bits, where Kubernetes approximates) the same float.
func TestQuantityMatchesKubernetes(t *testing.T) {
	for _, s := range []string{
		"0", "1", "2", "250m", "1.5", "0.5", ".5", "1.", "+1", "-1", "-0.25",
		"64Mi", "256Mi", "1Gi", "1.5Gi", "2Ti", "1Pi", "1Ei", "1Ki",
		"1k", "1M", "2G", "3T", "1P", "1E", "100n", "100u", "1500m",
		"1e3", "1E3", "1e-3", "2e+2", "12e0", "1.5e2",
		"", "m", ".", "1..2", "1.2.3", "abc", "1 Gi", "1gi", "1Kb", "1KiB",
		"e3", "1e", "1e+", "1ee3", "--1", "+-1", "1m1", "Gi", "1i", "0x10",
	} {
		want, werr := resource.ParseQuantity(s)
		got, gerr := parseQuantity(s)
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%q: Kubernetes error %v, ours %v", s, werr, gerr)
			continue
		}
		if werr != nil {
			continue
		}
		if got.value() != want.Value() {
			t.Errorf("%q: value %d, Kubernetes %d", s, got.value(), want.Value())
		}
		if g, w := got.float(), want.AsApproximateFloat64(); math.Abs(g-w) > 1e-12*math.Abs(w) {
			t.Errorf("%q: float %v, Kubernetes %v", s, got.float(), want.AsApproximateFloat64())
		}
	}
}
