// Package auth checks credentials on jig's listeners.
package auth

import (
	"crypto/subtle"
	"strings"
)

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// value. The scheme is case-insensitive (RFC 7235 §2.1) and may be
// followed by more than one space.
func BearerToken(value string) (string, bool) {
	scheme, rest, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok := strings.TrimLeft(rest, " ")
	return tok, tok != ""
}

// BearerMatches reports, in constant time for equal lengths, whether one
// of values carries token as a bearer token.
func BearerMatches(values []string, token string) bool {
	for _, v := range values {
		if got, ok := BearerToken(v); ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
			return true
		}
	}
	return false
}
