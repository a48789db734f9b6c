package tui

import (
	"os"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"go.uber.org/goleak"
)

// TestMain forces plain-text output, so views compare as text, and checks
// that no goroutine (bridge, commands, gRPC) outlives the tests.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	code := m.Run()
	if code == 0 {
		// Commands abandoned by tests (cursor blinks, ticks) end within a
		// second; give them time.
		if err := findLeaks(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// findLeaks retries goleak.Find for a few seconds: goleak gives up after
// about half a second, shorter than a cursor blink.
func findLeaks(opts ...goleak.Option) error {
	var err error
	for range 6 {
		if err = goleak.Find(opts...); err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}
