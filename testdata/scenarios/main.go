// Command scenarios builds many heap-retention shapes, writes a heap dump,
// heap profiles and truth.json describing them, then crashes to leave a core.
package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"unsafe"
)

// Sample every allocation (or as SCENARIOS_MEMPROFILERATE says, for the
// sampled fixtures); set before any user allocation happens.
var _ = func() int {
	runtime.MemProfileRate = 1
	if r, err := strconv.Atoi(os.Getenv("SCENARIOS_MEMPROFILERATE")); err == nil && r > 0 {
		runtime.MemProfileRate = r
	}
	return 0
}()

var crashPtr *int64 // nil: dereferenced by crash

func main() {
	out := flag.String("out", ".", "directory for heap.dump, heap.pprof, heap.txt and truth.json")
	flag.Parse()
	debug.SetTraceback("system") // include the finalizer goroutine in runtime.Stack

	setupQueuedFinalizers()
	setupGlobals()
	setupMaps()
	setupArrays()
	setupChan()
	setupClosures()
	setupGoroutines()
	setupFinalizerClosure()
	setupCleanupWeak()
	setupUnsafe()
	setupSubstrings()
	setupGenerics()
	setupLists()
	setupTiny()
	setupSites()

	// Scenario "stack_roots": a local of main live across the crash.
	x := newT(1500)
	escape(x)
	rec("main_local_x", "stack_roots", ptrOf(unsafe.Pointer(x)), elemOf(x), stackRoot(1, callerFunc(), "x")).Note =
		"local of main.main live across the call to main.crash"
	addGoroutine(&Goroutine{ID: curGoid(), Scenario: "stack_roots", Function: callerFunc(), Holds: []string{"main_local_x"}})
	settleGoroutines(1)

	runtime.GC()
	runtime.GC() // the heap profile publishes at the end of a cycle
	debug.SetGCPercent(-1)

	recordQueuedFinalizers()
	makeGarbage()
	makeWeakOnly()
	recordWeakOnly()

	writeFile(*out, "heap.dump", func(f *os.File) error { debug.WriteHeapDump(f.Fd()); return nil })
	makeAfterDump()
	writeFile(*out, "heap.pprof", func(f *os.File) error { return pprof.WriteHeapProfile(f) })
	writeFile(*out, "heap.txt", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 1) })

	settleGoroutines(1)
	for _, g := range ourGoroutines {
		if g.ID == 1 { // as it will be at the crash, not as runtime.Stack saw it
			g.Wait, g.Frames = "running", []string{"main.crash", "main.main"}
		}
	}
	truth.Goroutines = ourGoroutines
	truth.GoVersion = runtime.Version()
	truth.Goarch = runtime.GOARCH
	truth.Pid = os.Getpid()
	exe, err := os.Executable()
	if err != nil {
		fail("executable: %v", err)
	}
	truth.ExePath = exe
	truth.MemProfileRate = runtime.MemProfileRate
	truth.Files = Files{HeapDump: "heap.dump", HeapProfile: "heap.pprof", HeapProfileText: "heap.txt"}
	truth.Crash = Crash{Goroutine: 1, Function: "main.crash"}
	writeTruth(*out)

	debug.SetTraceback("crash")
	crash()
	runtime.KeepAlive(x)
}

// writeTruth rewrites truth.json until the thread list it records is stable.
func writeTruth(dir string) {
	for i := 0; i < 10; i++ {
		truth.Tids = threadIDs()
		b := encodeTruth()
		writeFile(dir, "truth.json", func(f *os.File) error { _, err := f.Write(b); return err })
		if equalInts(truth.Tids, threadIDs()) {
			return
		}
	}
	fail("thread list keeps changing")
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func writeFile(dir, name string, w func(*os.File) error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	if err := w(f); err != nil {
		fail("write %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		fail("close %s: %v", name, err)
	}
}

// crash faults on a nil pointer; with traceback "crash" the runtime aborts
// with SIGABRT and the kernel writes the core.
//
//go:noinline
func crash() {
	*crashPtr = 1
}
