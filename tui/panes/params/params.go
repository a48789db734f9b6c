// Package params is the Parameters pane: edit a deployment's `uses_with`
// as YAML and apply it (the engine validates it, restarts the deployment
// one replica at a time, and reports a located error when it is wrong),
// and edit the default parameters the Request pane sends.
package params

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/flowedit"
	"github.com/jig-dev/jig/tui/panes/request"
	"gopkg.in/yaml.v3"
)

// Actions is the engine operation this pane starts.
type Actions interface {
	UpdateUsesWith(ctx context.Context, name, usesWithYAML string) error
}

// KeyMap is the Parameters pane's key map.
type KeyMap struct {
	PrevTab, NextTab, Up, Down key.Binding
	Edit, Done, Apply, Revert  key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		PrevTab: common.Binding("[", "previous view", "["),
		NextTab: common.Binding("]", "next view", "]"),
		Up:      common.Binding("↑/k", "previous deployment", "up", "k"),
		Down:    common.Binding("↓/j", "next deployment", "down", "j"),
		Edit:    common.Binding("enter/i", "edit", "enter", "i"),
		Done:    common.Binding("esc", "stop editing", "esc"),
		Apply:   common.Binding("ctrl+s", "apply (restarts) / save defaults", "ctrl+s"),
		Revert:  common.Binding("ctrl+r", "revert to running", "ctrl+r"),
	}
}

type tab int

const (
	tabUsesWith tab = iota
	tabDefaults
)

// Model is the Parameters pane.
type Model struct {
	ctx  *common.Context
	act  Actions
	keys KeyMap
	w, h int
	tab  tab

	selected string
	// drafts hold edited, not yet applied uses_with per deployment; a
	// deployment without a draft shows (and follows) the running value.
	drafts   map[string]string
	editor   textarea.Model
	editing  bool
	yamlErr  string
	applyErr map[string]string
	applying string // deployment being applied, "" when idle

	defaults    textarea.Model
	defaultsErr string
	saved       string
}

// appliedMsg reports the end of an UpdateUsesWith.
type appliedMsg struct {
	name, text string
	err        error
}

// New returns the Parameters pane.
func New(ctx *common.Context, act Actions) *Model {
	area := func(placeholder string) textarea.Model {
		ta := textarea.New()
		ta.Prompt = ""
		ta.Placeholder = placeholder
		ta.ShowLineNumbers = true
		ta.CharLimit = 0
		ta.MaxHeight = 0
		ta.Cursor.SetMode(cursor.CursorStatic)
		return ta
	}
	m := &Model{
		ctx: ctx, act: act, keys: DefaultKeyMap(),
		drafts: map[string]string{}, applyErr: map[string]string{},
		editor:   area("uses_with as YAML, e.g.\nlowercase: true"),
		defaults: area("default request parameters, JSON or YAML, e.g.\ntop_k: 3"),
	}
	m.defaults.SetValue(ctx.DefaultParams)
	m.saved = ctx.DefaultParams
	m.restyle()
	return m
}

func (m *Model) restyle() {
	st := m.ctx.Styles
	s := textarea.Style{
		Base: lipgloss.NewStyle(), CursorLine: lipgloss.NewStyle(), CursorLineNumber: st.Accent,
		EndOfBuffer: st.Faint, LineNumber: st.Faint, Placeholder: st.Faint, Prompt: st.Faint, Text: st.Primary,
	}
	for _, ta := range []*textarea.Model{&m.editor, &m.defaults} {
		ta.FocusedStyle = s
		ta.BlurredStyle = s
		ta.BlurredStyle.Text = st.Secondary
	}
}

// Title implements common.Pane.
func (m *Model) Title() string { return "Parameters" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "Params" }

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd { return nil }

// Capturing implements common.Pane.
func (m *Model) Capturing() bool { return m.editing }

const listWidth = 22

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.editor.SetWidth(max(10, w-listWidth-1))
	m.editor.SetHeight(max(1, h-5))
	m.defaults.SetWidth(max(10, w))
	m.defaults.SetHeight(max(1, h-5))
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.editing {
		return []key.Binding{k.Done, k.Apply}
	}
	if m.tab == tabDefaults {
		return []key.Binding{k.Edit, k.Apply, k.NextTab}
	}
	return []key.Binding{k.Edit, k.Apply, k.Revert, k.NextTab}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{{k.PrevTab, k.NextTab, k.Up, k.Down, common.TopKey, common.BottomKey}, {k.Edit, k.Done, k.Apply, k.Revert}}
}

// editable lists the deployments whose uses_with jig controls.
func (m *Model) editable() []status.Deployment {
	var out []status.Deployment
	for _, d := range m.ctx.Status.Deployments {
		if !d.External {
			out = append(out, d)
		}
	}
	return out
}

func (m *Model) cursor(ds []status.Deployment) int {
	i := slices.IndexFunc(ds, func(d status.Deployment) bool { return d.Name == m.selected })
	if i < 0 && len(ds) > 0 {
		i = 0
		m.select_(ds[0].Name)
	}
	return i
}

// select_ selects a deployment and loads its draft or running uses_with.
func (m *Model) select_(name string) {
	m.selected = name
	m.load()
}

// load puts the selected deployment's text into the editor.
func (m *Model) load() {
	text, ok := m.drafts[m.selected]
	if !ok {
		d, _ := m.ctx.Deployment(m.selected)
		text = common.UnescapeYAML(d.UsesWith)
	}
	if m.editor.Value() != text {
		m.editor.SetValue(text)
	}
	m.check()
}

// check validates the editor's YAML as you type: it must parse, and be a
// mapping (the executor's fields).
func (m *Model) check() {
	m.yamlErr = ""
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(m.editor.Value()), &node); err != nil {
		m.yamlErr = strings.TrimPrefix(err.Error(), "yaml: ")
		return
	}
	if len(node.Content) > 0 && node.Content[0].Kind != yaml.MappingNode {
		m.yamlErr = fmt.Sprintf("line %d: uses_with must be a mapping of the executor's fields", node.Content[0].Line)
	}
}

// Selected returns the selected deployment.
func (m *Model) Selected() string { return m.selected }

// EditorText returns the uses_with editor's text.
func (m *Model) EditorText() string { return m.editor.Value() }

// SetEditorText replaces the editor's text (as typing would).
func (m *Model) SetEditorText(s string) {
	m.editor.SetValue(s)
	m.drafts[m.selected] = s
	m.check()
}

// Error returns the error shown under the editor: the live YAML error or
// the engine's located error of the last apply.
func (m *Model) Error() string {
	if m.yamlErr != "" {
		return m.yamlErr
	}
	return m.applyErr[m.selected]
}

// Update implements common.Pane.
func (m *Model) Update(in tea.Msg) tea.Cmd {
	switch msg := in.(type) {
	case common.StatusMsg:
		ds := m.editable()
		m.cursor(ds)
		if _, dirty := m.drafts[m.selected]; !dirty && !m.editing {
			m.load()
		}
	case common.ThemeChangedMsg:
		m.restyle()
	case appliedMsg:
		m.applying = ""
		if msg.err != nil {
			m.applyErr[msg.name] = msg.err.Error()
			return common.Toast("uses_with of "+msg.name+" not applied", true)
		}
		delete(m.applyErr, msg.name)
		if m.drafts[msg.name] == msg.text {
			delete(m.drafts, msg.name)
		}
		return tea.Batch(common.Toast(msg.name+" restarted with the new uses_with", false),
			common.FlowChanged("uses_with of "+msg.name, flowedit.Change{Name: msg.name, UsesWith: msg.text}))
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.Apply) {
		m.stopEditing()
		if m.tab == tabDefaults {
			return m.saveDefaults()
		}
		return m.apply()
	}
	if m.editing {
		if key.Matches(msg, k.Done) {
			m.stopEditing()
			return nil
		}
		var cmd tea.Cmd
		if m.tab == tabDefaults {
			m.defaults, cmd = m.defaults.Update(msg)
			m.checkDefaults()
			return cmd
		}
		before := m.editor.Value()
		m.editor, cmd = m.editor.Update(msg)
		if v := m.editor.Value(); v != before {
			m.drafts[m.selected] = v
			m.check()
		}
		return cmd
	}
	switch {
	case key.Matches(msg, k.PrevTab), key.Matches(msg, k.NextTab):
		m.tab = 1 - m.tab
		return nil
	case key.Matches(msg, k.Edit):
		m.editing = true
		if m.tab == tabDefaults {
			return m.defaults.Focus()
		}
		if m.selected == "" {
			m.editing = false
			return nil
		}
		return m.editor.Focus()
	}
	if m.tab != tabUsesWith {
		return nil
	}
	ds := m.editable()
	i := m.cursor(ds)
	if i < 0 {
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		m.select_(ds[max(0, i-1)].Name)
	case key.Matches(msg, k.Down):
		m.select_(ds[min(len(ds)-1, i+1)].Name)
	case key.Matches(msg, common.TopKey):
		m.select_(ds[0].Name)
	case key.Matches(msg, common.BottomKey):
		m.select_(ds[len(ds)-1].Name)
	case key.Matches(msg, k.Revert):
		delete(m.drafts, m.selected)
		delete(m.applyErr, m.selected)
		m.load()
	}
	return nil
}

func (m *Model) stopEditing() {
	m.editing = false
	m.editor.Blur()
	m.defaults.Blur()
}

func (m *Model) apply() tea.Cmd {
	if m.selected == "" || m.applying != "" {
		return nil
	}
	m.check()
	if m.yamlErr != "" {
		return common.Toast("fix the YAML first", true)
	}
	name, text, act, base := m.selected, m.editor.Value(), m.act, m.ctx.Base
	m.applying = name
	delete(m.applyErr, name)
	return tea.Batch(common.Toast("applying uses_with to "+name+"…", false), func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, common.ActionTimeout)
		defer cancel()
		err := act.UpdateUsesWith(ctx, name, text)
		if err == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = ctx.Err()
		}
		return appliedMsg{name: name, text: text, err: err}
	})
}

func (m *Model) checkDefaults() {
	m.defaultsErr = ""
	if _, err := request.ParseParameters(m.defaults.Value()); err != nil {
		m.defaultsErr = err.Error()
	}
}

func (m *Model) saveDefaults() tea.Cmd {
	m.checkDefaults()
	if m.defaultsErr != "" {
		return common.Toast("fix the parameters first", true)
	}
	text := m.defaults.Value()
	m.saved = text
	m.ctx.DefaultParams = text
	return tea.Batch(
		func() tea.Msg { return common.DefaultParamsMsg{Text: text} },
		common.Toast("default request parameters saved", false),
	)
}

// View implements common.Pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.ctx.Styles
	tabs := []string{"uses_with", "Request defaults"}
	for i, t := range tabs {
		tabs[i] = st.Tab(t, tab(i) == m.tab)
	}
	head := strings.Join(tabs, st.Faint.Render("│"))
	var body string
	if m.tab == tabDefaults {
		body = m.defaultsView()
	} else {
		body = m.usesWithView()
	}
	return common.Block(head+"\n"+body, m.w, m.h)
}

func (m *Model) usesWithView() string {
	st := m.ctx.Styles
	ds := m.editable()
	if len(ds) == 0 {
		return st.Faint.Render("No deployment whose configuration jig controls (external ones are not).")
	}
	cur := m.cursor(ds)
	h := m.h - 1
	left := []string{st.Header.Render("DEPLOYMENT")}
	top := common.Scroll(0, cur, h-1, len(ds))
	for i := top; i < min(len(ds), top+h-1); i++ {
		name := ds[i].Name
		if _, dirty := m.drafts[name]; dirty {
			name += " *"
		}
		if i == cur {
			left = append(left, st.Selected.Render(common.Fit("› "+name, listWidth-1)))
		} else {
			left = append(left, "  "+common.Fit(name, listWidth-3))
		}
	}
	title := "uses_with of " + m.selected
	if _, dirty := m.drafts[m.selected]; dirty {
		title += st.Warning.Render(" (edited, not applied)")
	}
	if m.applying != "" {
		title += st.Warning.Render(" · applying…")
	}
	right := []string{st.Bold.Render(title), m.editor.View()}
	if e := m.Error(); e != "" {
		right = append(right, common.ErrorLines(e, max(1, m.w-listWidth-1), 4, st.Error)...)
	} else {
		right = append(right, st.Faint.Render("YAML · checked as you type · applying restarts the deployment replica by replica"))
	}
	keys := st.Key.Render("enter") + st.KeyDesc.Render(" edit  ") + st.Key.Render("ctrl+s") + st.KeyDesc.Render(" apply & restart  ") +
		st.Key.Render("ctrl+r") + st.KeyDesc.Render(" revert")
	if m.editing {
		keys = st.Key.Render("esc") + st.KeyDesc.Render(" stop editing  ") + st.Key.Render("ctrl+s") + st.KeyDesc.Render(" apply & restart")
	}
	right = append(right, keys)
	l := common.Block(strings.Join(left, "\n"), listWidth, h)
	r := common.Block(strings.Join(right, "\n"), max(1, m.w-listWidth-1), h)
	return lipgloss.JoinHorizontal(lipgloss.Top, l, " ", r)
}

func (m *Model) defaultsView() string {
	st := m.ctx.Styles
	title := "Default parameters of the Request pane"
	if m.defaults.Value() != m.saved {
		title += st.Warning.Render(" (not saved)")
	}
	out := []string{st.Bold.Render(title), m.defaults.View()}
	if m.defaultsErr != "" {
		out = append(out, common.ErrorLines(m.defaultsErr, m.w, 4, st.Error)...)
	} else {
		out = append(out, st.Faint.Render("JSON or YAML mapping · checked as you type"))
	}
	keys := st.Key.Render("enter") + st.KeyDesc.Render(" edit  ") + st.Key.Render("ctrl+s") + st.KeyDesc.Render(" save (used by new requests)")
	out = append(out, keys)
	return strings.Join(out, "\n")
}
