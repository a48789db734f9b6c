package consensus

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors. Match them with errors.Is; the errors returned by
// ApplyWrite and Read also carry a gRPC status (see Status), so the worker
// returns them to clients unchanged.
var (
	// ErrNotLeader: the operation must run on the leader and this node is
	// not it (actions such as AddVoter), or a forwarded request reached a
	// member that is not the leader and may not forward it further. The
	// write was not applied. gRPC: UNAVAILABLE, reason NOT_LEADER.
	ErrNotLeader = errors.New("consensus: this replica is not the leader")
	// ErrNoLeader: no leader was known within LeaderWaitTimeout (an
	// election is running, or there is no quorum). The write was not
	// applied. gRPC: UNAVAILABLE, reason NO_LEADER.
	ErrNoLeader = errors.New("consensus: no leader")
	// ErrTooManyHops: a request was forwarded MaxForwardHops times without
	// reaching the leader (leadership kept moving). The write was not
	// applied. gRPC: UNAVAILABLE, reason TOO_MANY_HOPS.
	ErrTooManyHops = errors.New("consensus: request forwarded too many times")
	// ErrLeaderUnreachable: the leader's worker could not be reached, or
	// its address is unknown. Whether a forwarded write was applied is
	// unknown unless the connection could not be established. gRPC:
	// UNAVAILABLE, reason LEADER_UNREACHABLE.
	ErrLeaderUnreachable = errors.New("consensus: leader unreachable")
	// ErrOutcomeUnknown: the write was submitted but its outcome was not
	// observed (leadership was lost, or the deadline passed while it was
	// being committed): it may or may not be applied. gRPC: UNAVAILABLE
	// with reason OUTCOME_UNKNOWN, or DEADLINE_EXCEEDED when it timed out.
	ErrOutcomeUnknown = errors.New("consensus: write outcome unknown")
	// ErrShutdown: the node is shut down. gRPC: UNAVAILABLE, reason
	// SHUTDOWN.
	ErrShutdown = errors.New("consensus: node is shut down")
	// ErrSnapshotUnsupported: the executor has no Snapshot/Restore hooks,
	// so the log cannot be compacted. It wraps executors.ErrNoSnapshot.
	ErrSnapshotUnsupported = errors.New("consensus: executor does not implement Snapshot/Restore; the RAFT log is not compacted")
	// ErrBadSnapshot: a snapshot stream is malformed or unsafe (an entry
	// escaping the target folder, a link, an unknown format version).
	ErrBadSnapshot = errors.New("consensus: bad snapshot")
	// ErrBadEntry: a log entry could not be decoded. gRPC:
	// INVALID_ARGUMENT.
	ErrBadEntry = errors.New("consensus: bad log entry")
	// ErrUnknownPeer: an ID that is not a member of the configuration.
	ErrUnknownPeer = errors.New("consensus: unknown peer")
)

// Reasons in the google.rpc.ErrorInfo detail (domain ErrorDomain) of the
// gRPC statuses of consensus errors. Clients and the gateway may retry any
// UNAVAILABLE write if the write is idempotent; the reasons below marked
// "not applied" are safe to retry in any case.
const (
	ErrorDomain = "jig.consensus"

	ReasonNotLeader         = "NOT_LEADER"         // not applied
	ReasonNoLeader          = "NO_LEADER"          // not applied
	ReasonTooManyHops       = "TOO_MANY_HOPS"      // not applied
	ReasonLeaderUnreachable = "LEADER_UNREACHABLE" // unknown
	ReasonOutcomeUnknown    = "OUTCOME_UNKNOWN"    // unknown
	ReasonShutdown          = "SHUTDOWN"           // unknown if it happened mid-write
	ReasonTimeout           = "TIMEOUT"            // unknown
	ReasonBadEntry          = "BAD_ENTRY"          // not applied
)

// statusError is a consensus error that also carries its gRPC status:
// errors.Is sees the sentinel, status.FromError sees the status.
type statusError struct {
	err error
	st  *status.Status
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return e.st }

// withStatus attaches the gRPC status Status(err) to err.
func withStatus(err error) error {
	if err == nil {
		return nil
	}
	var se *statusError
	if errors.As(err, &se) {
		return err
	}
	return &statusError{err: err, st: Status(err)}
}

// Status maps an error of this package or of hashicorp/raft to the gRPC
// status a client should see: no leader / not leader / leadership lost /
// shutdown are UNAVAILABLE (retriable), timeouts DEADLINE_EXCEEDED,
// cancellation CANCELLED, bad entries INVALID_ARGUMENT, anything else
// INTERNAL. An error that already carries a status keeps it. Statuses of
// consensus errors carry a google.rpc.ErrorInfo with the Reason.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.st
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	code, reason := classify(err)
	st := status.New(code, err.Error())
	if reason != "" {
		if d, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}); derr == nil {
			st = d
		}
	}
	return st
}

func classify(err error) (codes.Code, string) {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, raft.ErrEnqueueTimeout):
		return codes.DeadlineExceeded, ReasonTimeout
	case errors.Is(err, context.Canceled):
		return codes.Canceled, ""
	case errors.Is(err, ErrBadEntry):
		return codes.InvalidArgument, ReasonBadEntry
	case errors.Is(err, ErrOutcomeUnknown), errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrAbortedByRestore):
		return codes.Unavailable, ReasonOutcomeUnknown
	case errors.Is(err, ErrNotLeader), errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return codes.Unavailable, ReasonNotLeader
	case errors.Is(err, ErrNoLeader):
		return codes.Unavailable, ReasonNoLeader
	case errors.Is(err, ErrTooManyHops):
		return codes.Unavailable, ReasonTooManyHops
	case errors.Is(err, ErrLeaderUnreachable), errors.Is(err, ErrUnknownPeer):
		return codes.Unavailable, ReasonLeaderUnreachable
	case errors.Is(err, ErrShutdown), errors.Is(err, raft.ErrRaftShutdown):
		return codes.Unavailable, ReasonShutdown
	}
	return codes.Internal, ""
}

// Reason returns the consensus reason carried by err's gRPC status ("" if
// none), also for errors received from another member over gRPC.
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return info.GetReason()
		}
	}
	return ""
}

// NotApplied reports whether err says for certain that a write was not
// applied, so it may be retried even if it is not idempotent.
func NotApplied(err error) bool {
	switch Reason(err) {
	case ReasonNotLeader, ReasonNoLeader, ReasonTooManyHops, ReasonBadEntry:
		return true
	}
	return false
}

// sentinelFor maps a reason received from another member back to this
// package's sentinel, so errors.Is works across hops.
func sentinelFor(reason string) error {
	switch reason {
	case ReasonNotLeader:
		return ErrNotLeader
	case ReasonNoLeader:
		return ErrNoLeader
	case ReasonTooManyHops:
		return ErrTooManyHops
	case ReasonLeaderUnreachable:
		return ErrLeaderUnreachable
	case ReasonOutcomeUnknown:
		return ErrOutcomeUnknown
	case ReasonShutdown:
		return ErrShutdown
	case ReasonBadEntry:
		return ErrBadEntry
	}
	return nil
}

// remoteError wraps an error returned by a forward so that errors.Is sees
// the sentinel the remote member reported while the status stays the
// remote's.
func remoteError(leader Peer, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("forward to leader %s (%s): %w", leader.ID, leader.WorkerAddr, err)
	}
	wrapped := fmt.Errorf("forward to leader %s (%s): %w", leader.ID, leader.WorkerAddr, err)
	if s := sentinelFor(Reason(err)); s != nil {
		wrapped = fmt.Errorf("forward to leader %s (%s): %w: %s", leader.ID, leader.WorkerAddr, s, st.Message())
	} else if st.Code() == codes.Unavailable {
		// A transport failure: the remote did not answer.
		wrapped = fmt.Errorf("forward to leader %s (%s): %w: %s", leader.ID, leader.WorkerAddr, ErrLeaderUnreachable, st.Message())
		st = Status(wrapped)
		return &statusError{err: wrapped, st: st}
	}
	return &statusError{err: wrapped, st: st}
}
