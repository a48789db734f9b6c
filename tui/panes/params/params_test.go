package params_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/params"
	"github.com/jig-dev/jig/tui/tuitest"
)

func setup(t *testing.T) (*params.Model, *tuitest.Engine) {
	t.Helper()
	ctx := tuitest.Context()
	eng := tuitest.NewEngine(ctx.Status, 1)
	m := params.New(ctx, eng)
	m.SetSize(100, 20)
	m.Update(common.StatusMsg{Status: ctx.Status})
	return m, eng
}

func press(m *params.Model, ks ...string) []any {
	var out []any
	for _, k := range ks {
		for _, msg := range tuitest.Feed(m, 3, tuitest.Key(k)) {
			out = append(out, msg)
		}
	}
	return out
}

func TestShowsRunningUsesWith(t *testing.T) {
	m, _ := setup(t)
	v := m.View()
	for _, want := range []string{"uses_with of norm", "lowercase: true", "norm", "index", "encoder"} {
		if !strings.Contains(v, want) {
			t.Errorf("lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "remote") {
		t.Error("external deployments are not editable")
	}
	press(m, "j")
	if m.Selected() != "index" || !strings.Contains(m.EditorText(), "metric: cosine") {
		t.Errorf("j selects index: %q %q", m.Selected(), m.EditorText())
	}
}

func TestEditValidatesAndApplies(t *testing.T) {
	m, eng := setup(t)
	press(m, "enter")
	if !m.Capturing() {
		t.Fatal("editing captures keys")
	}
	press(m, "down", "ctrl+e") // the empty last line
	for _, k := range tuitest.Type("- x") {
		m.Update(k)
	}
	if m.Error() == "" || !strings.Contains(m.View(), "✗") {
		t.Fatalf("live YAML error expected:\n%s", m.View())
	}
	press(m, "backspace", "backspace", "backspace")
	if m.Error() != "" {
		t.Fatalf("valid again: %q", m.Error())
	}
	for _, k := range tuitest.Type("strip: true") {
		m.Update(k)
	}
	if !strings.Contains(m.View(), "edited, not applied") {
		t.Error("a draft is marked")
	}
	press(m, "ctrl+s")
	want := []string{`uses_with norm "lowercase: true\nstrip: true"`}
	if got := eng.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	if strings.Contains(m.View(), "edited, not applied") {
		t.Error("an applied draft is no longer marked")
	}
}

func TestEngineErrorIsShownLocated(t *testing.T) {
	m, eng := setup(t)
	eng.UsesWithErr = func(name, text string) error {
		return errors.New("uses_with of norm:2:1: strp: unknown field (known: lowercase, strip)")
	}
	m.SetEditorText("lowercase: true\nstrp: 1\n")
	press(m, "ctrl+s")
	if !strings.Contains(m.View(), "uses_with of norm:2:1: strp: unknown field") {
		t.Errorf("the engine's located error should show:\n%s", m.View())
	}
	if !strings.Contains(m.View(), "edited, not applied") {
		t.Error("a failed apply keeps the draft")
	}
	press(m, "ctrl+r")
	if m.EditorText() != "lowercase: true\n" || m.Error() != "" {
		t.Errorf("ctrl+r reverts to the running value: %q %q", m.EditorText(), m.Error())
	}
}

func TestNotMappingIsRejectedLocally(t *testing.T) {
	m, eng := setup(t)
	m.SetEditorText("- a\n- b\n")
	press(m, "ctrl+s")
	if len(eng.Calls()) != 0 || !strings.Contains(m.Error(), "line 1: uses_with must be a mapping") {
		t.Errorf("calls %v err %q", eng.Calls(), m.Error())
	}
}

func TestDefaults(t *testing.T) {
	m, _ := setup(t)
	press(m, "]", "enter")
	for _, k := range tuitest.Type("top_k: 3") {
		m.Update(k)
	}
	msgs := press(m, "ctrl+s")
	var got string
	for _, msg := range msgs {
		if d, ok := msg.(common.DefaultParamsMsg); ok {
			got = d.Text
		}
	}
	if got != "top_k: 3" {
		t.Errorf("DefaultParamsMsg = %q (msgs %v)", got, msgs)
	}
	press(m, "enter", "enter")
	for _, k := range tuitest.Type("- x") {
		m.Update(k)
	}
	if !strings.Contains(m.View(), "✗") {
		t.Errorf("defaults are validated as you type:\n%s", m.View())
	}
}
