package events_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/jig-dev/jig/engine/events"
)

// capture returns a logger writing through a LogHandler and a function
// returning the Log events published so far.
func capture(t *testing.T, source string, level slog.Leveler) (*slog.Logger, *events.LogHandler, func() []events.Log) {
	t.Helper()
	b := events.NewBus(100)
	t.Cleanup(b.Close)
	s := b.Subscribe(100)
	h := events.NewLogHandler(b, source, level)
	return slog.New(h), h, func() []events.Log {
		var out []events.Log
		for _, e := range drain(s) {
			out = append(out, e.(events.Log))
		}
		return out
	}
}

func attrMap(l events.Log) map[string]string {
	m := map[string]string{}
	for _, a := range l.Attrs {
		m[a.Key] = a.Value
	}
	return m
}

func one(t *testing.T, got []events.Log) events.Log {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("want one log event, got %d: %+v", len(got), got)
	}
	return got[0]
}

func TestLogHandlerLevels(t *testing.T) {
	log, h, got := capture(t, "engine", slog.LevelWarn)
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	evs := got()
	if len(evs) != 2 || evs[0].Message != "w" || evs[0].Level != slog.LevelWarn || evs[1].Message != "e" || evs[1].Level != slog.LevelError {
		t.Fatalf("level warn published %+v", evs)
	}
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Fatal("Enabled disagrees with the level")
	}

	// nil level: info.
	log, _, got = capture(t, "engine", nil)
	log.Debug("d")
	log.Info("i")
	if e := one(t, got()); e.Message != "i" || e.Level != slog.LevelInfo || e.Source != "engine" {
		t.Fatalf("default level: %+v", e)
	}

	// A LevelVar is consulted on every record.
	var lv slog.LevelVar
	lv.Set(slog.LevelError)
	log, _, got = capture(t, "engine", &lv)
	log.Warn("hidden")
	lv.Set(slog.LevelDebug)
	log.Debug("shown")
	if e := one(t, got()); e.Message != "shown" || e.Level != slog.LevelDebug {
		t.Fatalf("dynamic level: %+v", e)
	}
}

func TestLogHandlerRecordFields(t *testing.T) {
	log, _, got := capture(t, "gateway", nil)
	before := time.Now()
	log.Info("hello", "n", 3, "d", 1500*time.Millisecond, "ok", true, "s", "x y")
	e := one(t, got())
	if e.Source != "gateway" || e.Message != "hello" || e.Time.Before(before) {
		t.Fatalf("event %+v", e)
	}
	want := []events.Attr{{"n", "3"}, {"d", "1.5s"}, {"ok", "true"}, {"s", "x y"}}
	if len(e.Attrs) != len(want) {
		t.Fatalf("attrs %v, want %v", e.Attrs, want)
	}
	for i := range want {
		if e.Attrs[i] != want[i] {
			t.Fatalf("attrs %v, want %v (in call order)", e.Attrs, want)
		}
	}
	if s := e.String(); s != "hello n=3 d=1.5s ok=true s=x y" {
		t.Fatalf("String() = %q", s)
	}
}

func TestLogHandlerGroups(t *testing.T) {
	log, _, got := capture(t, "engine", nil)
	log.Info("m", slog.Group("req", "id", "r1", slog.Group("hdr", "ep", "/x")), "after", 1)
	log.WithGroup("g").Info("m", "a", 1, slog.Group("inner", "b", 2))
	log.WithGroup("g").WithGroup("h").Info("m", "a", 1)
	log.WithGroup("").Info("m", "a", 1) // an empty group name is no group
	log.WithGroup("g").Info("m")        // a group without attributes adds nothing
	log.Info("m", slog.Group("empty"), "a", 1)
	log.WithGroup("g").Info("m", slog.Group("", "inl", 1)) // empty key: inlined
	log.Info("m", slog.Group("", "top", 1))

	want := []map[string]string{
		{"req.id": "r1", "req.hdr.ep": "/x", "after": "1"},
		{"g.a": "1", "g.inner.b": "2"},
		{"g.h.a": "1"},
		{"a": "1"},
		{},
		{"a": "1"},
		{"g.inl": "1"},
		{"top": "1"},
	}
	evs := got()
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i, e := range evs {
		m := attrMap(e)
		if len(m) != len(want[i]) || len(e.Attrs) != len(want[i]) {
			t.Errorf("event %d: attrs %v, want %v", i, e.Attrs, want[i])
			continue
		}
		for k, v := range want[i] {
			if m[k] != v {
				t.Errorf("event %d: attrs %v, want %v", i, e.Attrs, want[i])
			}
		}
	}
}

func TestLogHandlerSourceOverride(t *testing.T) {
	log, _, got := capture(t, "engine", nil)
	log.Info("m", "source", "idx/shard-1/rep-0", "k", "v")
	e := one(t, got())
	if e.Source != "idx/shard-1/rep-0" {
		t.Fatalf("source attr must override the handler's source: %q", e.Source)
	}
	if m := attrMap(e); len(m) != 1 || m["k"] != "v" {
		t.Fatalf("the source attr is not an attribute: %v", e.Attrs)
	}

	// With: the override sticks to the derived logger only.
	rep := log.With("source", "enc/rep-1", "replica", 1)
	rep.Info("from replica")
	log.Info("from engine")
	evs := got()
	if len(evs) != 2 || evs[0].Source != "enc/rep-1" || evs[1].Source != "engine" {
		t.Fatalf("With(source): %+v", evs)
	}
	if m := attrMap(evs[0]); len(m) != 1 || m["replica"] != "1" {
		t.Fatalf("With attrs: %v", evs[0].Attrs)
	}
	if len(evs[1].Attrs) != 0 {
		t.Fatalf("the parent logger gained attrs: %v", evs[1].Attrs)
	}
	// A record's own source beats the With one.
	rep.Info("m", "source", "enc/rep-2")
	if e := one(t, got()); e.Source != "enc/rep-2" {
		t.Fatalf("record source: %q", e.Source)
	}
	// Inside a group, "source" is an ordinary attribute.
	log.WithGroup("g").Info("m", "source", "x")
	if e := one(t, got()); e.Source != "engine" || attrMap(e)["g.source"] != "x" {
		t.Fatalf("grouped source: %+v", e)
	}
}

func TestLogHandlerWithAttrsIsImmutable(t *testing.T) {
	log, _, got := capture(t, "engine", nil)
	a := log.With("a", 1)
	b := a.With("b", 2)
	c := a.With("c", 3) // must not share b's backing array
	g := a.WithGroup("grp").With("d", 4)
	b.Info("m", "x", 0)
	c.Info("m")
	g.Info("m", "e", 5)
	a.Info("m")

	want := []string{
		"m a=1 b=2 x=0",
		"m a=1 c=3",
		"m a=1 grp.d=4 grp.e=5",
		"m a=1",
	}
	evs := got()
	if len(evs) != len(want) {
		t.Fatalf("%d events", len(evs))
	}
	for i, e := range evs {
		if e.String() != want[i] {
			t.Errorf("event %d: %q, want %q", i, e.String(), want[i])
		}
	}
}

type lazy struct{ v string }

func (l lazy) LogValue() slog.Value { return slog.StringValue(l.v) }

func TestLogHandlerResolvesValues(t *testing.T) {
	log, _, got := capture(t, "engine", nil)
	log.With("w", lazy{"with"}).Info("m", "r", lazy{"rec"}, slog.Any("", nil))
	e := one(t, got())
	if s := e.String(); s != "m w=with r=rec" {
		t.Fatalf("resolved: %q", s)
	}
}

// TestLogHandlerSlogtest runs the standard library's handler conformance
// tests, turning each Log event back into the nested map they expect.
func TestLogHandlerSlogtest(t *testing.T) {
	var read func() []events.Log
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		_, h, r := capture(t, "engine", nil)
		read = r
		return h
	}, func(t *testing.T) map[string]any {
		e := one(t, read())
		m := map[string]any{slog.LevelKey: e.Level, slog.MessageKey: e.Message}
		if !e.Time.IsZero() {
			m[slog.TimeKey] = e.Time
		}
		for _, a := range e.Attrs {
			cur := m
			parts := strings.Split(a.Key, ".")
			for _, p := range parts[:len(parts)-1] {
				next, ok := cur[p].(map[string]any)
				if !ok {
					next = map[string]any{}
					cur[p] = next
				}
				cur = next
			}
			cur[parts[len(parts)-1]] = a.Value
		}
		return m
	})
}
