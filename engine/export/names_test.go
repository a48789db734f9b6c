package export

import (
	"regexp"
	"strings"
	"testing"
)

func TestDNSName(t *testing.T) {
	dns1035 := regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	cases := map[string]string{
		"encoder":  "encoder",
		"My_Exec":  "my-exec",
		"9lives":   "x-9lives",
		"a--b_":    "a--b",
		"_":        "x",
		"idx-0":    "idx-0",
		"UPPER-42": "upper-42",
	}
	for in, want := range cases {
		if got := dnsName(in, 40); got != want || !dns1035.MatchString(got) {
			t.Errorf("dnsName(%q) = %q, want %q", in, got, want)
		}
	}
	long1, long2 := strings.Repeat("a", 60)+"1", strings.Repeat("a", 60)+"2"
	n1, n2 := dnsName(long1, 40), dnsName(long2, 40)
	if len(n1) > 40 || len(n2) > 40 || n1 == n2 || !dns1035.MatchString(n1) {
		t.Fatalf("long names: %q %q", n1, n2)
	}
	if dnsName(long1, 40) != n1 {
		t.Fatal("not deterministic")
	}
}
