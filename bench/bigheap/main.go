// Command bigheap builds a large, realistically shaped Go heap (over 30
// million live objects, a core of about 1.5 GB) and then crashes on a nil
// dereference so that the kernel writes a core file. It is the input of the
// rootpath load benchmark (see ../README.md and ../make-bigcore.sh).
//
// What it keeps live:
//
//   - a singly linked list of 16M nodes (each node also points at a payload
//     in the slices below every 64th node),
//   - a map[int]*Record of 4M entries; each Record owns a 24-byte string and
//     points at a list node,
//   - 64 slices of 100k pointers to small Leaf objects each pointing back at
//     a Record (6.4M leaves),
//   - 4M standalone strings in a []string,
//   - 1000 leaked goroutines blocked forever, each the only owner of an
//     8 KiB buffer (a stack root).
//
// Flags: -heapdump PATH also writes a runtime/debug.WriteHeapDump file before
// crashing; -scale F multiplies every count (for quick, smaller runs).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// Node is one list element: 32 bytes, two pointer words.
type Node struct {
	Next *Node
	Val  int64
	Leaf *Leaf
	Pad  int64
}

// Record is a map value: 40 bytes (48-byte size class).
type Record struct {
	ID   int64
	Name string
	Node *Node
	Hits int64
}

// Leaf is a small object pointed at from the pointer slices: 16 bytes.
type Leaf struct {
	Owner *Record
	N     int64
}

// Roots: globals the runtime's data/bss scan reaches.
var (
	listHead *Node
	records  map[int]*Record
	leaves   [][]*Leaf
	strs     []string
	parked   = make(chan struct{}) // never closed: goroutines stay leaked

	crashPtr *int64 // nil: dereferenced by crash

	// A variable, not a constant, so that make() cannot put the buffer on the
	// goroutine stack.
	goroutineBuf = 8 << 10
)

func main() {
	heapdump := flag.String("heapdump", "", "also write a runtime/debug.WriteHeapDump file to this path")
	scale := flag.Float64("scale", 1, "multiply every object count by this factor")
	gcPercent := flag.Int("gcpercent", 400, "GOGC while building (the heap is collected fully before the crash)")
	flag.Parse()

	n := func(x int) int {
		v := int(float64(x) * *scale)
		if v < 1 {
			v = 1
		}
		return v
	}
	nodes, entries := n(16_000_000), n(4_000_000)
	sliceCount, sliceLen := 64, n(100_000)
	strCount, goroutines := n(4_000_000), n(1000)

	// Collect rarely while building (fast), but collect: the maps grow and
	// the slices are appended to, which leaves garbage as real programs do.
	debug.SetGCPercent(*gcPercent)
	start := time.Now()
	step := func(what string) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "bigheap: %-28s %6.2fs  heap objects %10d  heap alloc %6d MiB  sys %6d MiB\n",
			what, time.Since(start).Seconds(), ms.HeapObjects, ms.HeapAlloc>>20, ms.Sys>>20)
	}

	// Records first, so that list nodes and leaves can point at them.
	all := make([]*Record, 0, entries) // temporary index, garbage later
	records = make(map[int]*Record)
	for i := 0; i < entries; i++ {
		r := &Record{ID: int64(i), Name: fmt.Sprintf("record-%016d", i), Hits: int64(i % 97)}
		records[i*7+3] = r
		all = append(all, r)
	}
	step("map of records")

	leaves = make([][]*Leaf, sliceCount)
	for s := range leaves {
		var sl []*Leaf // grown by append: old backing arrays become garbage
		for i := 0; i < sliceLen; i++ {
			sl = append(sl, &Leaf{Owner: all[(s*sliceLen+i)%len(all)], N: int64(i)})
		}
		leaves[s] = sl
	}
	step("pointer slices")

	// Build the list back to front so listHead is the first element.
	var head *Node
	for i := nodes - 1; i >= 0; i-- {
		nd := &Node{Next: head, Val: int64(i)}
		if i%64 == 0 {
			s := (i / 64) % sliceCount
			nd.Leaf = leaves[s][(i/64/sliceCount)%sliceLen]
		}
		if i%4 == 0 {
			all[(i/4)%len(all)].Node = nd
		}
		head = nd
	}
	listHead = head
	step("linked list")

	strs = make([]string, strCount)
	for i := range strs {
		strs[i] = "str-" + strconv.Itoa(i) + "-" + strconv.FormatInt(int64(i)*2654435761, 36)
	}
	step("strings")

	started := make(chan struct{})
	for i := 0; i < goroutines; i++ {
		go leak(i, started)
	}
	for i := 0; i < goroutines; i++ {
		<-started
	}
	step("leaked goroutines")

	all = nil
	runtime.GC() // also finishes sweeping: the allocation bits are exact
	step("after GC")

	if *heapdump != "" {
		f, err := os.Create(*heapdump)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bigheap:", err)
			os.Exit(1)
		}
		debug.WriteHeapDump(f.Fd())
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bigheap:", err)
			os.Exit(1)
		}
		step("heap dump written")
	}

	debug.SetGCPercent(-1) // nothing may move or be freed from here on
	debug.SetTraceback("crash")
	step("crashing")
	crash()
	runtime.KeepAlive(listHead)
}

// leak parks forever; its 8 KiB buffer is reachable only from this stack.
//
//go:noinline
func leak(i int, started chan<- struct{}) {
	buf := make([]byte, goroutineBuf)
	buf[0], buf[len(buf)-1] = byte(i), byte(i>>8)
	started <- struct{}{}
	<-parked
	runtime.KeepAlive(buf)
}

// crash faults on a nil pointer; with traceback "crash" the runtime then
// aborts with SIGABRT and the kernel writes a core.
//
//go:noinline
func crash() {
	*crashPtr = 1
}
