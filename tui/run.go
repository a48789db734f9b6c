package tui

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
)

// Run opens the workbench on the terminal (alternate screen) and blocks
// until the user quits or ctx ends. Quitting stops the engine (eng.Stop,
// bounded by Options.StopTimeout); if the program ends another way (ctx
// cancelled, program killed), Run stops the engine itself, so the flow
// never outlives the workbench.
//
// The mouse is on (clicks on tabs and rows, the wheel); the terminal's
// own text selection still works with shift+drag (option+drag in some
// macOS terminals), and copy uses OSC 52. Options.NoMouse turns it off
// for terminals where that does not work (k9s #874).
func Run(ctx context.Context, eng Engine, opts Options, progOpts ...tea.ProgramOption) error {
	m := New(eng, opts)
	base := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if !opts.NoMouse {
		base = append(base, tea.WithMouseCellMotion())
	}
	p := tea.NewProgram(m, append(base, progOpts...)...)
	final, err := p.Run()
	m.cancel() // ends the bridge and any action still running

	fm, _ := final.(*Model)
	if fm == nil {
		fm = m
	}
	if stopped, stopErr := fm.Stopped(); stopped {
		if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
			return err
		}
		if stopErr != nil {
			return fmt.Errorf("stop the flow: %w", stopErr)
		}
		return nil
	}
	sctx, cancel := context.WithTimeout(context.Background(), m.opts.StopTimeout)
	defer cancel()
	stopErr := eng.Stop(sctx)
	if c, ok := m.sender.(interface{ Close() error }); ok {
		c.Close()
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	if stopErr != nil {
		return fmt.Errorf("stop the flow: %w", stopErr)
	}
	return nil
}
