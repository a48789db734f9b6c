package wire

import (
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
)

// CodeName returns the canonical name of a gRPC code ("UNAVAILABLE",
// "DEADLINE_EXCEEDED", "CANCELLED", "OK"), as error responses and error
// bodies carry it; an unknown code is its number.
func CodeName(c codes.Code) string { return code.Code(c).String() }

// CodeFromName parses a canonical code name (CodeName's inverse); the
// American spelling "CANCELED" is accepted too.
func CodeFromName(name string) (codes.Code, bool) {
	if name == "CANCELED" {
		return codes.Canceled, true
	}
	v, ok := code.Code_value[name]
	if !ok {
		return codes.Unknown, false
	}
	return codes.Code(v), true
}

// StatusClientClosed is the HTTP status of a request the client cancelled
// (nginx's 499, as Jina's gateway answers).
const StatusClientClosed = 499

// HTTPStatus maps a failed call's gRPC code to the HTTP status a gateway
// answers with, as Jina's gateway does; anything unlisted is 500.
func HTTPStatus(c codes.Code) int {
	switch c {
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.ResourceExhausted:
		return http.StatusRequestEntityTooLarge
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.Canceled:
		return StatusClientClosed
	case codes.NotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// CodeForHTTP maps an HTTP error status back to a gRPC code, for clients:
// the inverse of HTTPStatus, plus the statuses proxies and servers other
// than jig's answer with (403, 429, 501, 502). Unknown statuses are
// codes.Unknown.
func CodeForHTTP(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case StatusClientClosed:
		return codes.Canceled
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	return codes.Unknown
}
