package events

import (
	"context"
	"log/slog"
	"strings"
)

// LogHandler is a slog.Handler that publishes records as Log events. An
// attribute named "source" overrides the handler's source, so one logger
// can speak for several replicas.
type LogHandler struct {
	bus    *Bus
	source string
	level  slog.Leveler
	attrs  []Attr
	group  string
}

// NewLogHandler returns a handler publishing records at or above level to
// bus, tagged with source.
func NewLogHandler(bus *Bus, source string, level slog.Leveler) *LogHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &LogHandler{bus: bus, source: source, level: level}
}

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *LogHandler) Handle(_ context.Context, r slog.Record) error {
	e := Log{Time: r.Time, Source: h.source, Level: r.Level, Message: r.Message}
	e.Attrs = append(e.Attrs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&e, h.group, a)
		return true
	})
	h.bus.Publish(e)
	return nil
}

func appendAttr(e *Log, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	switch {
	case key == "":
		key = group // a group with an empty key is inlined
	case group != "":
		key = group + "." + key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			appendAttr(e, key, g)
		}
		return
	}
	if key == "source" && group == "" {
		e.Source = a.Value.String()
		return
	}
	e.Attrs = append(e.Attrs, Attr{Key: key, Value: a.Value.String()})
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	tmp := Log{Source: h.source}
	for _, a := range attrs {
		appendAttr(&tmp, h.group, a)
	}
	c.source = tmp.Source
	c.attrs = append(append([]Attr(nil), h.attrs...), tmp.Attrs...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = strings.TrimPrefix(h.group+"."+name, ".")
	return &c
}

// String renders the attributes as key=value pairs.
func (e Log) String() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, a := range e.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(a.Value)
	}
	return b.String()
}
