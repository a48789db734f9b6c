package tui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui/common"
)

// commands lists what the palette offers now: panes, themes, an action
// per deployment, log view toggles, quit. Destructive commands still ask
// for confirmation.
func (m *Model) commands() []command {
	var out []command
	for i, p := range m.panes {
		i := i
		out = append(out, command{
			Title: "pane " + strings.ToLower(p.Title()),
			Hint:  fmt.Sprintf("key %d", i+1),
			Run:   func(m *Model) tea.Cmd { m.setPane(i); return nil },
		})
	}
	for i, t := range m.themes {
		i := i
		hint := "built-in"
		if t.File != "" {
			hint = t.File
		}
		out = append(out, command{Title: "theme " + t.Name, Hint: hint, Run: func(m *Model) tea.Cmd { return m.setTheme(i) }})
	}
	for _, d := range m.ctx.Status.Deployments {
		name := d.Name
		out = append(out, command{
			Title: "restart " + name,
			Hint:  "rolling restart of the deployment",
			Run: func(m *Model) tea.Cmd {
				label := "restart " + name
				m.confirm.Ask(fmt.Sprintf("Restart deployment %s, one replica at a time?", name), tea.Batch(
					common.Toast(label+"…", false),
					common.Action(m.ctx.Base, label, func(ctx context.Context) error { return m.eng.RestartDeployment(ctx, name) }),
				))
				return nil
			},
		})
		out = append(out, command{
			Title: "logs " + name,
			Hint:  "show only this deployment's logs",
			Run: func(m *Model) tea.Cmd {
				m.logs.SetSource(name)
				m.setPane(PaneLogs)
				return nil
			},
		})
		out = append(out, command{
			Title: "uses_with " + name,
			Hint:  "edit in the Parameters pane",
			Run:   func(m *Model) tea.Cmd { m.setPane(PaneParameters); return nil },
		})
	}
	out = append(out,
		command{Title: "logs all", Hint: "clear the log filters", Run: func(m *Model) tea.Cmd {
			m.logs.SetSource("")
			m.logs.SetFilter("")
			m.setPane(PaneLogs)
			return nil
		}},
		command{Title: "logs wrap", Hint: "toggle line wrapping", Run: func(m *Model) tea.Cmd { m.logs.ToggleWrap(); return nil }},
		command{Title: "send request", Hint: "send the composed request", Run: func(m *Model) tea.Cmd {
			m.setPane(PaneRequest)
			return m.request.Update(sendKey)
		}},
		command{Title: "write flow", Hint: "save changes to the YAML", Run: func(m *Model) tea.Cmd { return m.writeNow() }},
		command{Title: "help", Hint: "?", Run: func(m *Model) tea.Cmd { m.overlay = overlayHelp; return nil }},
		command{Title: "quit", Hint: "q: stop the flow and leave", Run: func(m *Model) tea.Cmd { return m.quit() }},
	)
	return out
}

// sendKey is the key the Request pane sends on.
var sendKey = tea.KeyMsg{Type: tea.KeyCtrlS}
