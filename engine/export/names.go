package export

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxNameLen bounds workload names. A StatefulSet's pods are named
// <name>-<ordinal> and carry a controller-revision-hash label of
// <name>-<10 chars>, both limited to 63 characters, and the headless
// Service adds "-headless"; 40 leaves room for all of them.
const maxNameLen = 40

// dnsName turns a jig name (letters, digits, '-', '_') into a DNS-1035
// label usable as a Kubernetes object name and a Compose service (and
// host) name: lower case, '_' and other characters become '-', it starts
// with a letter and ends with a letter or digit, at most max characters.
// Names that had to be shortened keep a hash of the original so two long
// names stay distinct.
func dnsName(name string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "x-" + s
		s = strings.TrimRight(s, "-")
	}
	if len(s) > max {
		sum := sha256.Sum256([]byte(name))
		h := hex.EncodeToString(sum[:])[:6]
		s = strings.TrimRight(s[:max-len(h)-1], "-") + "-" + h
	}
	return s
}
