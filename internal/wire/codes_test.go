package wire

import (
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestCodeNames(t *testing.T) {
	want := map[codes.Code]string{
		codes.OK:                 "OK",
		codes.Canceled:           "CANCELLED",
		codes.Unknown:            "UNKNOWN",
		codes.InvalidArgument:    "INVALID_ARGUMENT",
		codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
		codes.NotFound:           "NOT_FOUND",
		codes.AlreadyExists:      "ALREADY_EXISTS",
		codes.PermissionDenied:   "PERMISSION_DENIED",
		codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
		codes.FailedPrecondition: "FAILED_PRECONDITION",
		codes.Aborted:            "ABORTED",
		codes.OutOfRange:         "OUT_OF_RANGE",
		codes.Unimplemented:      "UNIMPLEMENTED",
		codes.Internal:           "INTERNAL",
		codes.Unavailable:        "UNAVAILABLE",
		codes.DataLoss:           "DATA_LOSS",
		codes.Unauthenticated:    "UNAUTHENTICATED",
	}
	for c, name := range want {
		if got := CodeName(c); got != name {
			t.Errorf("CodeName(%v) = %q, want %q", c, got, name)
		}
		if got, ok := CodeFromName(name); !ok || got != c {
			t.Errorf("CodeFromName(%q) = %v, %v; want %v", name, got, ok, c)
		}
	}
	if got := CodeName(codes.Code(42)); got != "42" {
		t.Errorf("CodeName(42) = %q, want the number", got)
	}
	if got, ok := CodeFromName("CANCELED"); !ok || got != codes.Canceled {
		t.Errorf(`CodeFromName("CANCELED") = %v, %v`, got, ok)
	}
	for _, bad := range []string{"", "O_K", "Unavailable", "42"} {
		if _, ok := CodeFromName(bad); ok {
			t.Errorf("CodeFromName(%q) accepted", bad)
		}
	}
}

func TestHTTPStatusRoundTrips(t *testing.T) {
	for c, st := range map[codes.Code]int{
		codes.Unavailable:       http.StatusServiceUnavailable,
		codes.DeadlineExceeded:  http.StatusGatewayTimeout,
		codes.InvalidArgument:   http.StatusBadRequest,
		codes.ResourceExhausted: http.StatusRequestEntityTooLarge,
		codes.Unauthenticated:   http.StatusUnauthorized,
		codes.Canceled:          499,
		codes.NotFound:          http.StatusNotFound,
	} {
		if got := HTTPStatus(c); got != st {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c, got, st)
		}
		if got := CodeForHTTP(st); got != c {
			t.Errorf("CodeForHTTP(%d) = %v, want %v", st, got, c)
		}
	}
	if got := HTTPStatus(codes.Internal); got != http.StatusInternalServerError {
		t.Errorf("HTTPStatus(Internal) = %d", got)
	}
	for st, c := range map[int]codes.Code{http.StatusBadGateway: codes.Unavailable, http.StatusTooManyRequests: codes.ResourceExhausted, http.StatusTeapot: codes.Unknown} {
		if got := CodeForHTTP(st); got != c {
			t.Errorf("CodeForHTTP(%d) = %v, want %v", st, got, c)
		}
	}
}
