// Package themes holds the workbench's colour themes: three built in
// (dark, light, high-contrast) plus user themes read from
// $XDG_CONFIG_HOME/jig/themes/*.yml.
//
// A theme is a set of semantic tokens, in the spirit of gh-dash: panes ask
// for "secondary text" or "the warning colour", never for a hex value, so a
// user theme only has to name a handful of colours and every pane follows.
// Styles turns a Theme into ready lipgloss styles; with NO_COLOR set the
// styles carry no colour at all and lean on bold and reverse video instead.
package themes

import (
	"os"
	"slices"
	"strings"
)

// Text holds the foreground colours of text.
type Text struct {
	// Primary is ordinary text; Secondary is less important text (column
	// headers, labels); Faint is hints and timestamps.
	Primary, Secondary, Faint string
	// Inverted is text drawn on a Selected or accent background.
	Inverted string
	// Accent marks the active tab, keys in help and focused fields.
	Accent string
	// Error, Warning and Success colour outcomes and states.
	Error, Warning, Success string
}

// Border holds the colours of rules and boxes.
type Border struct {
	// Primary frames focused boxes (modals, focused editors).
	Primary string
	// Faint draws rules and unfocused boxes.
	Faint string
}

// Background holds background colours.
type Background struct {
	// Selected is the background of the selected row.
	Selected string
	// Base, when set, is painted behind the whole screen. A theme whose
	// text colours only read on one kind of background sets it (light,
	// high-contrast): without it, near-black text lands on a dark terminal
	// and bright white on a light one. "" keeps the terminal's own.
	Base string
}

// Levels holds one colour per log level.
type Levels struct {
	Debug, Info, Warn, Error string
}

// Theme is a named set of semantic colour tokens. Colours are "#rgb",
// "#rrggbb" or an ANSI 256 index ("0".."255").
type Theme struct {
	// Name is how `t`, the palette ("theme <name>") and config refer to it.
	Name string
	// Dark says the theme is meant for a dark terminal background.
	Dark       bool
	Text       Text
	Border     Border
	Background Background
	// Levels colour the level column of the log pane.
	Levels Levels
	// Sources is the palette log sources are coloured from; a source always
	// gets the same entry (by hash), so "index/rep-0" keeps its colour.
	Sources []string
	// File is the theme's file for user themes, "" for built-ins.
	File string
}

// Dark is the default theme, for dark terminals.
func Dark() Theme {
	return Theme{
		Name: "dark",
		Dark: true,
		Text: Text{
			Primary: "#e4e4e4", Secondary: "#a8a8a8", Faint: "#6c6c6c", Inverted: "#1c1c1c",
			Accent: "#87afff", Error: "#ff5f5f", Warning: "#ffaf5f", Success: "#5fd787",
		},
		Border:     Border{Primary: "#87afff", Faint: "#444444"},
		Background: Background{Selected: "#3a3a5a"},
		Levels:     Levels{Debug: "#808080", Info: "#5fafff", Warn: "#ffaf5f", Error: "#ff5f5f"},
		Sources: []string{
			"#5fafd7", "#87d787", "#d7af5f", "#d787d7", "#5fd7d7", "#ff8787",
			"#afafff", "#d7d787", "#87d7af", "#ffafd7",
		},
	}
}

// Light is for light terminal backgrounds.
func Light() Theme {
	return Theme{
		Name: "light",
		Dark: false,
		Text: Text{
			Primary: "#1c1c1c", Secondary: "#4e4e4e", Faint: "#8a8a8a", Inverted: "#ffffff",
			Accent: "#005fd7", Error: "#d70000", Warning: "#af5f00", Success: "#008700",
		},
		Border:     Border{Primary: "#005fd7", Faint: "#bcbcbc"},
		Background: Background{Selected: "#d7e3ff", Base: "#ffffff"},
		Levels:     Levels{Debug: "#808080", Info: "#005faf", Warn: "#af5f00", Error: "#d70000"},
		Sources: []string{
			"#005f87", "#005f00", "#875f00", "#870087", "#008787", "#af0000",
			"#5f00af", "#5f5f00", "#00875f", "#af005f",
		},
	}
}

// HighContrast uses the 16 basic ANSI colours at full intensity, for low
// vision and for terminals whose palette washes out the 256-colour greys.
func HighContrast() Theme {
	return Theme{
		Name: "high-contrast",
		Dark: true,
		Text: Text{
			Primary: "15", Secondary: "15", Faint: "7", Inverted: "0",
			Accent: "11", Error: "9", Warning: "11", Success: "10",
		},
		Border:     Border{Primary: "11", Faint: "15"},
		Background: Background{Selected: "4", Base: "0"},
		Levels:     Levels{Debug: "7", Info: "14", Warn: "11", Error: "9"},
		Sources:    []string{"14", "10", "11", "13", "12", "9", "15"},
	}
}

// Builtin returns the built-in themes in cycling order.
func Builtin() []Theme { return []Theme{Dark(), Light(), HighContrast()} }

// Find returns the theme called name.
func Find(all []Theme, name string) (Theme, bool) {
	i := slices.IndexFunc(all, func(t Theme) bool { return strings.EqualFold(t.Name, name) })
	if i < 0 {
		return Theme{}, false
	}
	return all[i], true
}

// NoColor reports whether the NO_COLOR convention (https://no-color.org)
// asks for output without colour: NO_COLOR is set to a non-empty value.
func NoColor() bool { return os.Getenv("NO_COLOR") != "" }
