package gcfloor

import (
	"os"
	"runtime"
	"testing"
)

func TestSetRaisesTheHeapAndLeavesTunedCollectorsAlone(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	for _, tuned := range []map[string]string{{"GOGC": "200"}, {"GOMEMLIMIT": "1GiB"}} {
		if b := alloc(env(tuned)); b != nil {
			t.Errorf("%v: allocated a floor of %d bytes", tuned, len(b))
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	Set()
	Set() // once per process
	runtime.GC()
	runtime.ReadMemStats(&after)
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		if floor != nil {
			t.Fatal("Set allocated a floor though this test runs with GOGC or GOMEMLIMIT set")
		}
		return
	}
	if len(floor) != Size {
		t.Fatalf("floor of %d bytes, want %d", len(floor), Size)
	}
	// The floor counts as live heap (what paces the collector) ...
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew < Size || grew > 2*Size {
		t.Errorf("live heap grew by %d bytes after Set, want about %d", grew, Size)
	}
	// ... and the next cycle waits for about that much more allocation.
	if after.NextGC < 2*Size {
		t.Errorf("next collection at %d bytes of heap, want at least %d", after.NextGC, 2*Size)
	}
}
