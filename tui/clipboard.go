package tui

import (
	"errors"

	"github.com/muesli/termenv"
)

// maxOSC52 is the payload size terminals reliably accept in one OSC 52
// sequence (k9s caps it too, K9S_OSC52_MAX).
const maxOSC52 = 100_000

// osc52Copy puts s on the clipboard with an OSC 52 escape sequence, which
// works over SSH and in tmux (with set-clipboard on), like soft-serve's
// copy. The terminal may ignore it; the Request pane also shows the text.
func osc52Copy(s string) error {
	if len(s) > maxOSC52 {
		return errors.New("too long for the clipboard")
	}
	termenv.Copy(s)
	return nil
}
