// Package newexec is the New executor pane: it embeds the scaffold wizard
// (the huh form behind `jig new`), generates the executor, and offers to
// add it to the running flow with reload on.
package newexec

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/flowedit"
)

// Wizard is what the pane needs from the scaffold package: a fresh form
// for each run, and the generator fed with that form's answers.
type Wizard interface {
	// Form returns a new wizard form; its answers are kept by the wizard
	// for Generate.
	Form() *huh.Form
	// Generate writes the executor described by the last form's answers.
	Generate(ctx context.Context) (Result, error)
}

// Result describes a generated executor.
type Result struct {
	// Name is the executor's name, used as the deployment name.
	Name string
	// Uses is what the flow's `uses:` should say (its folder or config.yml).
	Uses string
	// Dir is the folder written.
	Dir string
	// Files lists the files written, relative to Dir.
	Files []string
	// Warnings are problems that did not stop the generation.
	Warnings []string
}

// Actions is the engine operation this pane starts.
type Actions interface {
	AddExecutor(ctx context.Context, name, uses string, reload bool) error
}

type state int

const (
	stateForm state = iota
	stateGenerating
	stateAsk // generated; asking whether to add it to the flow
	stateAdding
	stateDone
)

// KeyMap is the New executor pane's key map.
type KeyMap struct {
	Focus, Leave, Yes, No, Again key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Focus: common.Binding("enter/i", "fill in the form", "enter", "i"),
		Leave: common.Binding("esc", "leave the form", "esc"),
		Yes:   common.Binding("y", "add to the flow", "y", "Y"),
		No:    common.Binding("n", "don't add", "n", "N"),
		Again: common.Binding("enter", "new executor", "enter"),
	}
}

// Model is the New executor pane.
type Model struct {
	ctx    *common.Context
	wizard Wizard
	act    Actions
	keys   KeyMap
	w, h   int

	state   state
	form    *huh.Form
	focused bool
	result  Result
	err     error
	added   bool
}

type (
	generatedMsg struct {
		res Result
		err error
	}
	addedMsg struct{ err error }
)

// New returns the pane. wizard may be nil: the pane then explains that
// the wizard is not available and points at `jig new`.
func New(ctx *common.Context, wizard Wizard, act Actions) *Model {
	m := &Model{ctx: ctx, wizard: wizard, act: act, keys: DefaultKeyMap()}
	m.newForm()
	return m
}

// Title implements common.Pane.
func (m *Model) Title() string { return "New executor" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "New" }

// Capturing implements common.Pane: the form has the keyboard, or a
// question is asked.
func (m *Model) Capturing() bool {
	return (m.state == stateForm && m.focused) || m.state == stateAsk
}

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd {
	if m.form == nil {
		return nil
	}
	return m.form.Init()
}

// reset starts a new run of the wizard.
func (m *Model) reset() tea.Cmd {
	m.newForm()
	return m.Init()
}

// newForm gets a fresh form from the wizard.
func (m *Model) newForm() {
	m.state, m.err, m.added, m.focused = stateForm, nil, false, false
	m.result = Result{}
	m.form = nil
	if m.wizard == nil {
		return
	}
	m.form = m.wizard.Form()
	if m.form == nil {
		return
	}
	// Embedded, the form must not quit the program: its submit and cancel
	// commands are ours (huh only sets tea.Quit in Run).
	m.form.SubmitCmd = nil
	m.form.CancelCmd = nil
	m.form = m.form.WithTheme(huhTheme(m.ctx.Styles)).WithShowHelp(true)
	m.size()
}

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.size()
}

func (m *Model) size() {
	if m.form != nil && m.w > 0 {
		// Below the pane's title and hint lines; huh puts a blank line
		// before its footer (help, or the field's validation error) that
		// its height does not count.
		m.form = m.form.WithWidth(min(m.w, 100)).WithHeight(max(3, m.h-3))
	}
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	switch m.state {
	case stateAsk:
		return []key.Binding{k.Yes, k.No}
	case stateDone:
		return []key.Binding{k.Again}
	case stateForm:
		if m.focused {
			if m.form != nil {
				return append([]key.Binding{k.Leave}, m.form.KeyBinds()...)
			}
			return []key.Binding{k.Leave}
		}
		return []key.Binding{k.Focus}
	}
	return nil
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	out := [][]key.Binding{{k.Focus, k.Leave}, {k.Yes, k.No, k.Again}}
	if m.form != nil {
		out = append(out, m.form.KeyBinds())
	}
	return out
}

// Result returns the last generated executor.
func (m *Model) Result() (Result, error) { return m.result, m.err }

// Added reports whether the last executor was added to the flow.
func (m *Model) Added() bool { return m.added }

// Update implements common.Pane.
func (m *Model) Update(in tea.Msg) tea.Cmd {
	switch msg := in.(type) {
	case generatedMsg:
		m.result, m.err = msg.res, msg.err
		if msg.err != nil {
			m.state = stateDone
			return common.Toast("scaffold failed: "+msg.err.Error(), true)
		}
		m.state = stateAsk
		return common.Toast("executor "+msg.res.Name+" created in "+msg.res.Dir, false)
	case addedMsg:
		m.state = stateDone
		m.err = msg.err
		if msg.err != nil {
			return common.Toast("add "+m.result.Name+": "+msg.err.Error(), true)
		}
		m.added = true
		// In sequence, the flow change first: once the toast shows, the
		// root knows the flow has unsaved changes (a quit asks).
		return tea.Sequence(common.FlowChanged("executor "+m.result.Name+" added", flowedit.Change{Add: true, Name: m.result.Name, Uses: m.result.Uses, Reload: true}),
			common.Toast(m.result.Name+" added to the flow (reload on)", false))
	case common.ThemeChangedMsg:
		if m.form != nil {
			m.form = m.form.WithTheme(huhTheme(m.ctx.Styles))
		}
		return nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	// Every other message goes to the form: huh moves between fields and
	// groups with its own messages.
	if m.state == stateForm && m.form != nil {
		return m.updateForm(in)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch m.state {
	case stateForm:
		if m.form == nil {
			return nil
		}
		if !m.focused {
			if key.Matches(msg, k.Focus) {
				m.focused = true
			}
			return nil
		}
		if key.Matches(msg, k.Leave) {
			m.focused = false
			return nil
		}
		return m.updateForm(msg)
	case stateAsk:
		switch {
		case key.Matches(msg, k.Yes):
			m.state = stateAdding
			name, uses, act, base := m.result.Name, m.result.Uses, m.act, m.ctx.Base
			return func() tea.Msg {
				ctx, cancel := context.WithTimeout(base, common.ActionTimeout)
				defer cancel()
				return addedMsg{err: act.AddExecutor(ctx, name, uses, true)}
			}
		case key.Matches(msg, k.No):
			m.state = stateDone
		}
	case stateDone:
		if key.Matches(msg, k.Again) {
			return m.reset()
		}
	}
	return nil
}

func (m *Model) updateForm(msg tea.Msg) tea.Cmd {
	fm, cmd := m.form.Update(msg)
	if f, ok := fm.(*huh.Form); ok {
		m.form = f
	}
	switch m.form.State {
	case huh.StateCompleted:
		m.state = stateGenerating
		m.focused = false
		w, base := m.wizard, m.ctx.Base
		return tea.Batch(cmd, func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, common.ActionTimeout)
			defer cancel()
			res, err := w.Generate(ctx)
			return generatedMsg{res: res, err: err}
		})
	case huh.StateAborted:
		return m.reset()
	}
	return cmd
}

// View implements common.Pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.ctx.Styles
	title := st.Bold.Render("New executor") + st.Faint.Render(" · the `jig new` wizard")
	var body string
	switch {
	case m.wizard == nil:
		body = st.Faint.Render("The executor wizard is not available in this build.\nRun `jig new` in a shell, then add the executor to the flow YAML.")
	case m.state == stateForm:
		if m.form == nil {
			body = st.Error.Render("The wizard returned no form.")
			break
		}
		hint := st.Faint.Render("enter: fill in the form · esc: leave it (then 1-7 switch panes)")
		if m.focused {
			hint = st.Accent.Render("✎ editing") + st.Faint.Render(" · esc leaves the form")
		}
		body = hint + "\n" + m.form.View()
	case m.state == stateGenerating:
		body = st.Warning.Render("Generating the executor…")
	default:
		body = m.resultView()
	}
	return common.Block(title+"\n"+body, m.w, m.h)
}

func (m *Model) resultView() string {
	st := m.ctx.Styles
	if m.err != nil && m.result.Name == "" {
		return strings.Join(common.ErrorLines(m.err.Error(), m.w, 0, st.Error), "\n") + "\n\n" + st.Faint.Render("enter: start again")
	}
	r := m.result
	lines := []string{
		st.Success.Render("✓ Created executor ") + st.Bold.Render(r.Name) + st.Secondary.Render(" in "+r.Dir),
	}
	for _, f := range r.Files {
		lines = append(lines, "    "+st.Secondary.Render(f))
	}
	for _, w := range r.Warnings {
		lines = append(lines, st.Warning.Render("! "+common.Sanitize(w)))
	}
	lines = append(lines, "")
	switch m.state {
	case stateAsk:
		lines = append(lines, st.Warning.Bold(true).Render(fmt.Sprintf("Add %s to the running flow (uses: %s) with reload on?", r.Name, r.Uses)),
			st.Key.Render("y")+st.KeyDesc.Render(" yes   ")+st.Key.Render("n")+st.KeyDesc.Render(" no"))
	case stateAdding:
		lines = append(lines, st.Warning.Render("Adding "+r.Name+" to the flow (building it first)…"))
	case stateDone:
		switch {
		case m.err != nil:
			lines = append(lines, common.ErrorLines("not added: "+m.err.Error(), m.w, 0, st.Error)...)
		case m.added:
			lines = append(lines, st.Success.Render("✓ "+r.Name+" runs in the flow; edits to its source reload it."))
		default:
			lines = append(lines, st.Faint.Render("Not added. Add it to the flow YAML with uses: "+r.Uses))
		}
		lines = append(lines, "", st.Faint.Render("enter: create another executor"))
	}
	return strings.Join(lines, "\n")
}

// huhTheme styles the form with the workbench theme.
func huhTheme(st *themes.Styles) *huh.Theme {
	t := huh.ThemeBase()
	t.Focused.Title = st.Accent.Bold(true)
	t.Focused.NoteTitle = st.Accent.Bold(true).MarginBottom(1)
	t.Focused.Description = st.Faint
	t.Focused.ErrorIndicator = st.Error.SetString(" *")
	t.Focused.ErrorMessage = st.Error.SetString(" *")
	t.Focused.SelectSelector = st.Accent.SetString("> ")
	t.Focused.MultiSelectSelector = st.Accent.SetString("> ")
	t.Focused.Option = st.Primary
	t.Focused.SelectedOption = st.Success
	t.Focused.UnselectedOption = st.Primary
	t.Focused.TextInput.Prompt = st.Accent
	t.Focused.TextInput.Text = st.Primary
	t.Focused.TextInput.Placeholder = st.Faint
	button := lipgloss.NewStyle().Padding(0, 2).MarginRight(1)
	if st.NoColor {
		t.Focused.FocusedButton = button.Reverse(true)
		t.Focused.BlurredButton = button
	} else {
		th := st.Theme
		t.Focused.FocusedButton = button.Foreground(lipgloss.Color(th.Text.Inverted)).Background(lipgloss.Color(th.Text.Accent))
		t.Focused.BlurredButton = button.Foreground(lipgloss.Color(th.Text.Primary)).Background(lipgloss.Color(th.Background.Selected))
		t.Focused.Base = t.Focused.Base.BorderForeground(lipgloss.Color(th.Border.Faint))
	}
	t.Focused.Next = t.Focused.FocusedButton
	t.Focused.Card = t.Focused.Base
	t.Blurred = t.Focused
	t.Blurred.Base = t.Focused.Base.BorderStyle(lipgloss.HiddenBorder())
	t.Blurred.Card = t.Blurred.Base
	t.Blurred.NextIndicator = lipgloss.NewStyle()
	t.Blurred.PrevIndicator = lipgloss.NewStyle()
	t.Group.Title = t.Focused.Title
	t.Group.Description = t.Focused.Description
	return t
}
