// Package tui is jig's terminal workbench: a Bubble Tea program embedding
// a running flow, with panes for deployments, consensus, logs, events, a
// request composer, parameters and the executor wizard.
//
// Architecture (the shape of gh-dash and soft-serve; docs/ARCHITECTURE.md
// describes how panes get their data): a root Model owns a
// shared common.Context (size, theme, clock, latest status) and seven
// panes, each a model with its own key map and SetSize. The root routes
// keys to the active pane (or to an open overlay, or to a pane that is
// capturing keys for a text field) and broadcasts every other message to
// all panes. Engine I/O runs in commands: the status is polled with a
// tick, actions run as commands reporting back with messages, and engine
// events arrive through a bridge that batches them about every 50 ms.
package tui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/flowedit"
	"github.com/jig-dev/jig/tui/panes/consensus"
	"github.com/jig-dev/jig/tui/panes/deployments"
	"github.com/jig-dev/jig/tui/panes/eventlog"
	"github.com/jig-dev/jig/tui/panes/logs"
	"github.com/jig-dev/jig/tui/panes/newexec"
	"github.com/jig-dev/jig/tui/panes/params"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/prefs"
)

// Pane indexes, in tab order (keys 1–7).
const (
	PaneDeployments = iota
	PaneConsensus
	PaneLogs
	PaneEvents
	PaneRequest
	PaneParameters
	PaneNewExecutor
	numPanes
)

// toastTTL is how long a notice stays in the status bar.
const toastTTL = 6 * time.Second

type overlay int

const (
	overlayNone overlay = iota
	overlayHelp
	overlayPalette
)

// Messages private to the root.
type (
	// bridgeMsg is a batch from the bridge; handling it re-arms the bridge
	// command (there is always exactly one waiting).
	bridgeMsg struct{ common.EventsMsg }
	// stoppedMsg reports the end of eng.Stop after quit.
	stoppedMsg struct{ err error }
)

// Model is the workbench's root model.
type Model struct {
	eng  Engine
	opts Options
	ctx  *common.Context
	// cancel ends the bridge and every command derived from ctx.Base.
	cancel context.CancelFunc
	keys   KeyMap
	// unsaved lists runtime changes of the flow (common.FlowChangedMsg)
	// that its YAML does not have; q asks before losing them.
	unsaved []string
	// changes are the same changes, to write them back (writeback.go);
	// writeBack is the offer being shown.
	changes   []flowedit.Change
	writeBack *writeBack
	// asking is set while the question asked on quit (or the write-back
	// offer it leads to) is being prepared or shown: ctrl+c then quits
	// without asking again.
	asking bool
	// helpScroll is the first line of the help overlay shown.
	helpScroll int
	help       help.Model

	sender      Sender
	panes       []common.Pane
	deployments *deployments.Model
	consensus   *consensus.Model
	logs        *logs.Model
	events      *eventlog.Model
	request     *request.Model
	params      *params.Model
	newexec     *newexec.Model
	active      int

	themes   []themes.Theme
	themeIdx int

	overlay overlay
	palette palette
	confirm common.Confirm

	toast    string
	toastErr bool
	toastAt  time.Time

	bridge   *bridge
	started  bool
	quitting bool
	stopped  bool
	stopErr  error
	tooSmall bool
}

// New returns the workbench's root model for eng. Nothing runs until the
// program calls Init: then the bridge starts and the status is polled.
func New(eng Engine, opts Options) *Model {
	opts.defaults()
	var history []request.Saved
	if opts.Store != nil {
		// What cannot be read is forgotten: the workbench opens anyway.
		if p, err := opts.Store.Prefs(); err == nil && opts.Theme == "" {
			opts.Theme = p.Theme
		}
		history, _ = prefs.History[request.Saved](opts.Store)
	}
	m := &Model{eng: eng, opts: opts, keys: DefaultKeyMap(), help: help.New(), themes: opts.Themes}
	for i, t := range m.themes {
		if strings.EqualFold(t.Name, opts.Theme) {
			m.themeIdx = i
		}
	}
	base, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.ctx = common.NewContext(themes.NewStyles(m.themes[m.themeIdx], opts.NoColor), opts.Now)
	// Components with adaptive colours (huh, bubbles defaults) would ask
	// the terminal for its background (OSC 11) and wait for the answer;
	// the theme already says whether it is dark.
	lipgloss.SetHasDarkBackground(m.themes[m.themeIdx].Dark)
	m.ctx.Base = base
	m.styleHelp()

	sender := opts.Sender
	switch {
	case sender == nil && opts.Traces != nil:
		sender = NewTracingSender(opts.Traces, opts.TraceURL)
	case sender == nil:
		sender = NewSender()
	}
	wizard := opts.Wizard
	if wizard == nil {
		wizard = NewWizard()
	}
	clip := opts.Clipboard
	if clip == nil {
		clip = osc52Copy
	}
	m.sender = sender
	m.deployments = deployments.New(m.ctx, eng)
	m.consensus = consensus.New(m.ctx, eng)
	m.logs = logs.New(m.ctx, opts.LogCapacity)
	m.events = eventlog.New(m.ctx, 0)
	m.request = request.New(m.ctx, sender, clip)
	if store := opts.Store; store != nil {
		m.request.LoadHistory(history)
		m.request.SetPersist(func(entries []request.Saved) tea.Cmd {
			return func() tea.Msg {
				if err := prefs.SaveHistory(store, entries, request.HistorySize); err != nil {
					return common.ToastMsg{Text: "history not saved: " + err.Error(), Err: true}
				}
				return nil
			}
		})
	}
	m.params = params.New(m.ctx, eng)
	m.newexec = newexec.New(m.ctx, wizard, eng)
	m.panes = []common.Pane{m.deployments, m.consensus, m.logs, m.events, m.request, m.params, m.newexec}
	m.active = max(0, min(numPanes-1, opts.InitialPane))
	m.palette = newPalette()
	return m
}

// Init implements tea.Model: start the bridge, fetch the first status,
// show theme problems, and initialise the panes.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.fetchStatus()}
	if !m.started {
		m.started = true
		m.bridge = startBridge(m.ctx.Base, m.eng.Bus(), m.opts.BatchInterval, m.opts.LogCapacity)
		cmds = append(cmds, m.bridge.next())
	}
	if len(m.opts.ThemeErrors) > 0 {
		errs := m.opts.ThemeErrors
		now := m.ctx.Now()
		cmds = append(cmds, func() tea.Msg {
			msg := common.EventsMsg{}
			for _, err := range errs {
				msg.Logs = append(msg.Logs, common.LogLine{Time: now, Source: "jig/themes", Level: slog.LevelWarn, Text: "theme skipped: " + common.Sanitize(err.Error())})
			}
			return msg
		}, common.Toast(fmt.Sprintf("%d theme problem(s): see Logs", len(errs)), true))
	}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}

// fetchStatus polls the engine in a command (Status is cheap, but any
// engine call stays off the UI goroutine).
func (m *Model) fetchStatus() tea.Cmd {
	eng := m.eng
	return func() tea.Msg { return common.StatusMsg{Status: eng.Status()} }
}

// tick schedules the next status poll.
func (m *Model) tick() tea.Cmd {
	eng, ctx := m.eng, m.ctx.Base
	return tea.Tick(m.opts.StatusInterval, func(time.Time) tea.Msg {
		if ctx.Err() != nil {
			return nil
		}
		return common.StatusMsg{Status: eng.Status()}
	})
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return m, m.broadcast(msg)
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case bridgeMsg:
		cmd := m.broadcast(msg.EventsMsg)
		if m.quitting || m.bridge == nil {
			return m, cmd
		}
		return m, tea.Batch(cmd, m.bridge.next())
	case common.StatusMsg:
		m.ctx.Status = msg.Status
		cmd := m.broadcast(msg)
		if m.quitting {
			return m, cmd
		}
		return m, tea.Batch(cmd, m.tick())
	case common.ToastMsg:
		m.setToast(msg.Text, msg.Err)
		return m, nil
	case common.ActionDoneMsg:
		if msg.Err != nil {
			m.setToast(msg.Label+": "+msg.Err.Error(), true)
		} else {
			m.setToast(fmt.Sprintf("%s: done in %s", msg.Label, common.Duration(msg.Took)), false)
		}
		return m, m.broadcast(msg)
	case common.FlowChangedMsg:
		if !slices.Contains(m.unsaved, msg.What) {
			m.unsaved = append(m.unsaved, msg.What)
		}
		m.changes = append(m.changes, msg.Change)
		return m, nil
	case writeBackMsg:
		if msg.err != nil && !msg.quit {
			m.setToast("cannot write the flow: "+msg.err.Error(), true)
			return m, nil
		}
		if msg.err != nil {
			m.confirm.Ask(fmt.Sprintf("The flow was changed here (%s) and its YAML cannot be updated: %v. Quit and lose the changes?",
				strings.Join(m.unsaved, ", "), msg.err), func() tea.Msg { return quitConfirmedMsg{} })
			return m, nil
		}
		m.writeBack = msg.wb
		return m, nil
	case writtenMsg:
		if msg.err != nil {
			m.setToast("not written: "+msg.err.Error(), true)
			return m, nil
		}
		m.unsaved, m.changes = nil, nil
		m.setToast("wrote "+msg.path, false)
		if !msg.quit {
			return m, nil
		}
		return m, m.quit()
	case quitConfirmedMsg:
		return m, m.quit()
	case common.FocusPaneMsg:
		m.setPane(msg.Index)
		return m, nil
	case stoppedMsg:
		m.stopped, m.stopErr = true, msg.err
		if c, ok := m.sender.(io.Closer); ok {
			c.Close()
		}
		return m, tea.Quit
	case nil:
		return m, nil
	}
	return m, m.broadcast(msg)
}

// broadcast delivers a non-key message to every pane.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range m.panes {
		if c := p.Update(msg); c != nil {
			cmds = append(cmds, c)
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.ForceQuit) {
		if m.quitting {
			return tea.Quit // a second ctrl+c does not wait for Stop
		}
		if len(m.unsaved) > 0 && !m.asking {
			// Asks like q; a second ctrl+c (asking is set) quits anyway.
			cmd := m.askQuit()
			m.setToast("unsaved changes: ctrl+c again quits anyway", true)
			return cmd
		}
		return m.quit()
	}
	if m.quitting {
		return nil
	}
	if m.confirm.Open() {
		cmd := m.confirm.Update(msg)
		if !m.confirm.Open() {
			m.asking = false
		}
		return cmd
	}
	if m.writeBack != nil {
		return m.writeBackKey(msg)
	}
	switch m.overlay {
	case overlayHelp:
		switch {
		case key.Matches(msg, k.Quit):
			return m.askQuit()
		case key.Matches(msg, k.Help, k.Back):
			m.overlay = overlayNone
		case msg.String() == "j" || msg.String() == "down":
			m.helpScroll++
		case msg.String() == "k" || msg.String() == "up":
			m.helpScroll--
		case msg.String() == "pgdown" || msg.String() == "ctrl+d" || msg.String() == " ":
			m.helpScroll += max(1, m.ctx.Height-chromeHeight-3)
		case msg.String() == "pgup" || msg.String() == "ctrl+u":
			m.helpScroll -= max(1, m.ctx.Height-chromeHeight-3)
		case key.Matches(msg, common.TopKey):
			m.helpScroll = 0
		case key.Matches(msg, common.BottomKey):
			m.helpScroll = 1 << 20 // helpView clamps it
		}
		m.helpScroll = max(0, m.helpScroll)
		return nil
	case overlayPalette:
		chosen, closed, cmd := m.palette.update(msg)
		if closed {
			m.overlay = overlayNone
			m.palette.input.Blur()
		}
		if chosen != nil {
			return tea.Batch(cmd, chosen.Run(m))
		}
		return cmd
	}
	pane := m.panes[m.active]
	if m.tooSmall {
		if key.Matches(msg, k.Quit) {
			return m.quit()
		}
		return nil
	}
	if pane.Capturing() {
		return pane.Update(msg)
	}
	for i, b := range k.Panes {
		if key.Matches(msg, b) {
			m.setPane(i)
			return nil
		}
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.askQuit()
	case key.Matches(msg, k.NextPane):
		m.setPane((m.active + 1) % numPanes)
	case key.Matches(msg, k.PrevPane):
		m.setPane((m.active + numPanes - 1) % numPanes)
	case key.Matches(msg, k.Help):
		m.overlay = overlayHelp
		m.helpScroll = 0
	case key.Matches(msg, k.Palette):
		m.overlay = overlayPalette
		return m.palette.open(m.commands())
	case key.Matches(msg, k.Theme):
		return m.cycleTheme(1)
	default:
		return pane.Update(msg)
	}
	return nil
}

// quitConfirmedMsg is the answer yes to askQuit's question.
type quitConfirmedMsg struct{}

// askQuit quits, asking first when the flow was changed at runtime: the
// changes live in the engine only and are lost with it (ctrl+c asks
// too; a second ctrl+c quits without writing).
func (m *Model) askQuit() tea.Cmd {
	if len(m.unsaved) == 0 {
		return m.quit()
	}
	m.overlay = overlayNone
	m.asking = true
	if path := m.ctx.Status.File; path != "" {
		return prepareWriteBack(path, m.changes, true)
	}
	m.confirm.Ask(fmt.Sprintf("The flow was changed here and its YAML was not: %s. Quit and lose the changes?",
		strings.Join(m.unsaved, ", ")), func() tea.Msg { return quitConfirmedMsg{} })
	return nil
}

// writeNow offers to write the runtime changes into the flow YAML
// without quitting (palette "write"): the same diff and y as on quit.
func (m *Model) writeNow() tea.Cmd {
	m.overlay = overlayNone
	switch path := m.ctx.Status.File; {
	case len(m.unsaved) == 0:
		m.setToast("nothing to write: the flow was not changed here", false)
		return nil
	case path == "":
		m.setToast("cannot write the flow: it was not loaded from a YAML file", true)
		return nil
	default:
		return prepareWriteBack(path, m.changes, false)
	}
}

// Unsaved lists the runtime changes of the flow not written to its YAML.
func (m *Model) Unsaved() []string { return m.unsaved }

// quit stops the engine, then the program: in-flight actions and the
// bridge are cancelled first, Stop runs as a command bounded by
// StopTimeout, and tea.Quit follows its stoppedMsg.
func (m *Model) quit() tea.Cmd {
	if m.quitting {
		return nil
	}
	m.quitting = true
	m.overlay = overlayNone
	m.cancel()
	m.setToast("stopping the flow…", false)
	eng, timeout := m.eng, m.opts.StopTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return stoppedMsg{err: eng.Stop(ctx)}
	}
}

func (m *Model) setPane(i int) {
	if i >= 0 && i < numPanes {
		m.active = i
		m.overlay = overlayNone
	}
}

func (m *Model) setToast(text string, isErr bool) {
	m.toast, m.toastErr, m.toastAt = common.Sanitize(text), isErr, m.ctx.Now()
}

func (m *Model) cycleTheme(d int) tea.Cmd {
	return m.setTheme((m.themeIdx + d + len(m.themes)) % len(m.themes))
}

func (m *Model) setTheme(i int) tea.Cmd {
	m.themeIdx = i
	m.ctx.Styles = themes.NewStyles(m.themes[i], m.opts.NoColor)
	lipgloss.SetHasDarkBackground(m.themes[i].Dark)
	m.ctx.ThemeGen++
	m.styleHelp()
	m.setToast("theme: "+m.themes[i].Name, false)
	cmd := m.broadcast(common.ThemeChangedMsg{})
	if store := m.opts.Store; store != nil {
		name := m.themes[i].Name
		cmd = tea.Batch(cmd, func() tea.Msg {
			if err := store.SavePrefs(prefs.Prefs{Theme: name}); err != nil {
				return common.ToastMsg{Text: "theme not saved: " + err.Error(), Err: true}
			}
			return nil
		})
	}
	return cmd
}

func (m *Model) styleHelp() {
	st := m.ctx.Styles
	m.help.Styles = help.Styles{
		ShortKey: st.Key, ShortDesc: st.KeyDesc, ShortSeparator: st.Faint,
		FullKey: st.Key, FullDesc: st.KeyDesc, FullSeparator: st.Faint, Ellipsis: st.Faint,
	}
}

// chromeHeight is the rows used around the pane: tab bar, status bar and
// key hints.
const chromeHeight = 3

func (m *Model) resize(w, h int) {
	m.ctx.Width, m.ctx.Height = w, h
	m.tooSmall = w < m.opts.MinWidth || h < m.opts.MinHeight
	m.help.Width = w
	for _, p := range m.panes {
		p.SetSize(w, max(1, h-chromeHeight))
	}
}

// Stopped reports whether quitting stopped the engine, and Stop's error.
func (m *Model) Stopped() (bool, error) { return m.stopped, m.stopErr }

// Active returns the index of the visible pane.
func (m *Model) Active() int { return m.active }

// ActivePane returns the visible pane.
func (m *Model) ActivePane() common.Pane { return m.panes[m.active] }

// Theme returns the active theme's name.
func (m *Model) Theme() string { return m.themes[m.themeIdx].Name }

// Logs returns the Logs pane.
func (m *Model) Logs() *logs.Model { return m.logs }

// Request returns the Request pane.
func (m *Model) Request() *request.Model { return m.request }

// Params returns the Parameters pane.
func (m *Model) Params() *params.Model { return m.params }

// Events returns the Events pane.
func (m *Model) Events() *eventlog.Model { return m.events }

// NewExecutor returns the New executor pane.
func (m *Model) NewExecutor() *newexec.Model { return m.newexec }

// Deployments returns the Deployments pane.
func (m *Model) Deployments() *deployments.Model { return m.deployments }

// View implements tea.Model.
func (m *Model) View() string {
	w, h := m.ctx.Width, m.ctx.Height
	if w <= 0 || h <= 0 {
		return "starting…"
	}
	if m.tooSmall {
		return m.tooSmallView(w, h)
	}
	paneH := h - chromeHeight
	var body string
	switch m.overlay {
	case overlayHelp:
		body = m.helpView(w, paneH)
	default:
		body = m.panes[m.active].View()
	}
	if m.overlay == overlayPalette {
		body = common.Overlay(body, m.palette.view(m.ctx, w-4, paneH), w, paneH)
	}
	if m.confirm.Open() {
		body = common.Overlay(body, m.confirm.View(m.ctx.Styles), w, paneH)
	}
	if m.writeBack != nil {
		body = common.Overlay(body, m.writeBackView(w, paneH), w, paneH)
	}
	return m.ctx.Styles.Paint(lipgloss.JoinVertical(lipgloss.Left,
		common.Fit(m.tabBar(w), w),
		common.Block(body, w, paneH),
		common.Fit(m.statusBar(w), w),
		common.Fit(m.hints(w), w),
	))
}

// tooSmallView is btop's "terminal too small" screen: say the size and the
// size needed, centred.
func (m *Model) tooSmallView(w, h int) string {
	st := m.ctx.Styles
	msg := fmt.Sprintf("Terminal too small: %d×%d, needs at least %d×%d", w, h, m.opts.MinWidth, m.opts.MinHeight)
	lines := []string{st.Warning.Bold(true).Render(msg)}
	if common.Width(msg) > w {
		lines = []string{
			st.Warning.Bold(true).Render(fmt.Sprintf("Terminal too small: %d×%d,", w, h)),
			st.Warning.Render(fmt.Sprintf("needs at least %d×%d", m.opts.MinWidth, m.opts.MinHeight)),
		}
	}
	lines = append(lines, st.Faint.Render("resize the window, or q to quit"))
	return common.Center(strings.Join(lines, "\n"), w, h)
}

func (m *Model) tabBar(w int) string {
	st := m.ctx.Styles
	render := func(short bool) string {
		parts := []string{st.Bold.Render("jig ")}
		for i, p := range m.panes {
			title := p.Title()
			if short {
				title = p.ShortTitle()
			}
			label := fmt.Sprintf("%d %s", i+1, title)
			parts = append(parts, st.Tab(label, i == m.active))
		}
		return strings.Join(parts, st.Faint.Render("│"))
	}
	bar := render(false)
	if common.Width(bar) > w {
		bar = render(true)
	}
	return bar
}

func (m *Model) statusBar(w int) string {
	st := m.ctx.Styles
	s := m.ctx.Status
	left := []string{}
	name := s.Flow
	if name == "" {
		name = "flow"
	}
	state := st.Success.Render("●")
	for _, d := range s.Deployments {
		if d.State != "ready" {
			state = st.Warning.Render("●")
		}
		if d.State == "failed" {
			state = st.Error.Render("●")
			break
		}
	}
	left = append(left, state+" "+st.Bold.Render(name))
	if s.Addresses.GRPC != "" {
		left = append(left, st.Secondary.Render("grpc "+s.Addresses.GRPC))
	}
	if s.Addresses.HTTP != "" {
		left = append(left, st.Secondary.Render("http "+s.Addresses.HTTP))
	}
	left = append(left, st.Secondary.Render(common.Rate(s.Gateway.Rate)+" req/s"))
	line := strings.Join(left, st.Faint.Render(" · "))
	if m.toast != "" && m.ctx.Now().Sub(m.toastAt) < toastTTL {
		t := st.Success.Render(m.toast)
		if m.toastErr {
			t = st.Error.Render("✗ " + m.toast)
		}
		room := w - common.Width(line) - 2
		if room > 10 {
			t = common.Truncate(t, room)
			line += strings.Repeat(" ", max(1, w-common.Width(line)-common.Width(t))) + t
		} else {
			line = common.Truncate(t, w)
		}
	}
	return line
}

// hints is the footer: the active pane's short help, then the global keys.
func (m *Model) hints(w int) string {
	var paneKeys []key.Binding
	switch {
	case m.overlay == overlayPalette:
		paneKeys = []key.Binding{common.Binding("enter", "run", "enter"), common.Binding("↑/↓", "choose", "up"), common.Binding("esc", "close", "esc")}
	case m.overlay == overlayHelp:
		paneKeys = []key.Binding{common.Binding("esc/?", "close help", "esc")}
	case m.confirm.Open():
		paneKeys = common.ConfirmKeys()
	default:
		paneKeys = m.panes[m.active].ShortHelp()
	}
	global := m.keys.ShortHelp()
	if m.panes[m.active].Capturing() {
		global = []key.Binding{m.keys.ForceQuit}
	}
	m.help.Width = w
	return m.help.ShortHelpView(append(paneKeys, global...))
}

// helpView is the context-sensitive help: the active pane's full key map,
// then the global keys, in columns.
func (m *Model) helpView(w, h int) string {
	st := m.ctx.Styles
	var lines []string
	group := func(title string, keys []key.Binding) {
		lines = append(lines, st.Header.Render(title))
		for _, b := range keys {
			if !b.Enabled() {
				continue
			}
			hb := b.Help()
			lines = append(lines, "  "+st.Key.Render(common.Fit(hb.Key, 12))+" "+st.KeyDesc.Render(hb.Desc))
		}
		lines = append(lines, "")
	}
	pane := m.panes[m.active]
	if g, ok := pane.(common.HelpGrouper); ok {
		for _, hg := range g.HelpGroups() {
			group(pane.Title()+" keys · "+hg.Title, hg.Keys)
		}
	} else {
		var keys []key.Binding
		for _, g := range pane.FullHelp() {
			keys = append(keys, g...)
		}
		if len(keys) > 0 {
			group(pane.Title()+" keys", keys)
		}
	}
	var global []key.Binding
	for _, g := range m.keys.FullHelp() {
		global = append(global, g...)
	}
	group("Global keys", global)
	// Two columns when they fit side by side, else one list; either way
	// it scrolls (j/k, pgup/pgdn, g/G) when taller than the screen.
	if w >= 2*48+4 {
		// Split at the group boundary nearest the middle.
		half := len(lines)
		for i, l := range lines {
			if l == "" && i+1 < len(lines) && (half == len(lines) || abs(i+1-len(lines)/2) < abs(half-len(lines)/2)) {
				half = i + 1
			}
		}
		left, right := lines[:half], lines[half:]
		lw := 0
		for _, l := range left {
			lw = max(lw, common.Width(l))
		}
		merged := make([]string, max(len(left), len(right)))
		for i := range merged {
			if i >= len(left) {
				merged[i] = strings.Repeat(" ", lw+4) + right[i]
				continue
			}
			merged[i] = common.Fit(left[i], lw+4)
			if i < len(right) {
				merged[i] += right[i]
			}
		}
		lines = merged
	}
	bodyH := max(1, h-2)
	m.helpScroll = max(0, min(m.helpScroll, len(lines)-bodyH))
	more := ""
	if len(lines) > bodyH {
		more = fmt.Sprintf(" · lines %d-%d of %d (j/k scroll)", m.helpScroll+1, min(len(lines), m.helpScroll+bodyH), len(lines))
	}
	title := st.Bold.Render("Help") + st.Faint.Render(" · "+pane.Title()+" · esc or ? closes"+more)
	shown := lines[m.helpScroll:min(len(lines), m.helpScroll+bodyH)]
	return common.Block(title+"\n\n"+strings.Join(shown, "\n"), w, h)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
