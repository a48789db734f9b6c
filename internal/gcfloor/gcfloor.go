// Package gcfloor gives a process a floor under the heap size that paces
// Go's garbage collector, so that a server with a small live heap and a
// high allocation rate is not collected dozens of times a second.
//
// The collector starts a cycle when the heap has grown by GOGC% (100) of
// what was live after the last one, and never below 4 MiB. jig's gateway
// lives on a few MiB while each 100-document request allocates ~110 KiB
// that dies with the request: at a few thousand requests per second that
// is a cycle every ~40 requests, and marking, sweeping and the scavenger
// returning and re-faulting the same pages cost ~40% of the gateway's CPU
// (issue 22, `make bench-jina`). A never-touched, pointer-free allocation
// held for the life of the process counts as live heap for pacing, so the
// next cycle starts only after ~Size more bytes were allocated: the
// collector runs several times less often for at most ~Size of extra
// resident garbage. The allocation itself is never written, so the kernel
// backs it with no memory (it stays out of RSS), and the collector does
// not scan it (no pointers).
//
// GOGC and GOMEMLIMIT in the environment mean the user tuned the collector
// themselves: then Set does nothing.
package gcfloor

import (
	"os"
	"sync"
)

// Size is the floor, in bytes.
const Size = 32 << 20

var (
	once sync.Once
	// floor is the allocation; a package variable, so it stays reachable.
	floor []byte
)

// Set puts the floor under the heap, once per process, unless GOGC or
// GOMEMLIMIT is set.
func Set() {
	once.Do(func() { floor = alloc(os.Getenv) })
}

// alloc returns the floor, or nil when getenv shows the collector tuned.
func alloc(getenv func(string) string) []byte {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return nil
	}
	return make([]byte, Size)
}
