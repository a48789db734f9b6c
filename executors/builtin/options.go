package builtin

import (
	"context"
	"fmt"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// configError reports an invalid option value found by an Init hook. It is
// a *yamlutil.Error, so errors.Is(err, executors.ErrBadInput) holds and the
// CLI exits with code 2: the configuration is wrong, not the system. The
// executor does not know which file the option came from (with: or a
// flow's uses_with), so only the field is named.
func configError(field, format string, args ...any) error {
	return &yamlutil.Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// badRequest is the error for request parameters a handler cannot use;
// the name reaches the client as the exception name.
func badRequest(format string, args ...any) error {
	return executors.Errorf("BadRequest", format, args...)
}

// sleepCtx waits for d or until ctx is done, whichever comes first, and
// returns ctx.Err() in the latter case. A timer (not time.Sleep) is used so
// that a cancelled request frees its goroutine at once.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// millis converts a millisecond count (possibly fractional, as parameters
// arrive as float64) to a duration.
func millis(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}
