package main

import (
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"time"
	"unsafe"
)

// Scenario "goroutines" and the goroutine parts of "stack_roots".

// gReport is how a goroutine tells main what it holds; addresses are uintptrs
// so the report itself keeps nothing alive.
type gReport struct {
	kind string
	id   int
	goid int64
	fn   string
	addr uintptr
}

var (
	reports     = make(chan gReport, 64)
	leakCh      = make(chan int) // never written: leaked workers block here forever
	never1      = make(chan int)
	never2      = make(chan int)
	leakBufSize = 32 << 10 // a variable so the buffer is heap-allocated
	deferLoops  = 1        // a variable loop bound keeps the defer out of open-coding
	escapeSink  interface{}
	neverTrue   bool
)

const nLeak = 16

// escape forces x to the heap without keeping it reachable.
func escape(x interface{}) {
	if neverTrue {
		escapeSink = x
	}
}

func use(p *T) {
	if neverTrue {
		escapeSink = p
	}
}

func leakWorker(ch chan int, id int) {
	buf := make([]byte, leakBufSize)
	buf[0] = byte(id)
	reports <- gReport{kind: "leak", id: id, goid: curGoid(), fn: callerFunc(), addr: ptrOf(unsafe.Pointer(&buf[0]))}
	<-ch
	runtime.KeepAlive(buf)
}

func sleeperEntry() {
	sleepHolder()
}

//go:noinline
func sleepHolder() {
	p := newT(710)
	escape(p)
	reports <- gReport{kind: "sleep", goid: curGoid(), fn: callerFunc(), addr: ptrOf(unsafe.Pointer(p))}
	deepSleep()
	runtime.KeepAlive(p)
}

//go:noinline
func deepSleep() {
	time.Sleep(1 << 62)
}

func deferHolder(ch chan int) {
	for i := 0; i < deferLoops; i++ {
		p := newT(720 + i)
		reports <- gReport{kind: "defer", goid: curGoid(), fn: callerFunc(), addr: ptrOf(unsafe.Pointer(p))}
		defer func() { use(p) }()
	}
	<-ch
}

func panicHolder(ch chan int) {
	defer func() {
		<-ch // blocks forever, so the panic is never recovered
		_ = recover()
	}()
	v := newT(730)
	reports <- gReport{kind: "panic", goid: curGoid(), fn: callerFunc(), addr: ptrOf(unsafe.Pointer(v))}
	panic(v)
}

// ourGoroutines lists goroutines whose wait state is filled in at the end.
var ourGoroutines []*Goroutine

func addGoroutine(g *Goroutine) { ourGoroutines = append(ourGoroutines, g) }

func startLeaks() {
	for i := 0; i < nLeak; i++ {
		id := i
		go leakWorker(leakCh, id)
	}
	go func() {
		m := make(map[int]*T)
		for i := 0; i < 10; i++ {
			m[i] = newT(700 + i)
		}
		escape(m)
		reports <- gReport{kind: "select", goid: curGoid(), fn: callerFunc(), addr: ptrOf(unsafe.Pointer(m[3]))}
		select {
		case <-never1:
		case <-never2:
		}
		runtime.KeepAlive(m)
	}()
	go sleeperEntry()
	go deferHolder(never1)
	go panicHolder(never2)
}

func setupGoroutines() {
	startLeaks()
	var got []gReport
	for len(got) < nLeak+4 {
		got = append(got, <-reports)
	}
	sort.Slice(got, func(i, j int) bool {
		if got[i].kind != got[j].kind {
			return got[i].kind < got[j].kind
		}
		return got[i].id < got[j].id
	})
	tT := reflect.TypeOf(T{})
	for _, r := range got {
		switch r.kind {
		case "leak":
			id := fmt.Sprintf("leak_buf_%d", r.id)
			rec(id, "goroutines", r.addr, arrOf(leakBufSize, bytesType), stackRoot(r.goid, r.fn, "buf"))
			addGoroutine(&Goroutine{ID: r.goid, Scenario: "goroutines", Function: r.fn, Holds: []string{id}})
		case "select":
			rec("goroutine_map_val3", "goroutines", r.addr, tT, stackRoot(r.goid, r.fn, "m"), "{3}")
			addGoroutine(&Goroutine{ID: r.goid, Scenario: "goroutines", Function: r.fn, Holds: []string{"goroutine_map_val3"}})
		case "sleep":
			rec("sleeper_p", "goroutines", r.addr, tT, stackRoot(r.goid, r.fn, "p")).Note =
				"held by a frame below the top: time.Sleep <- main.deepSleep <- main.sleepHolder"
			addGoroutine(&Goroutine{ID: r.goid, Scenario: "goroutines", Function: r.fn, Holds: []string{"sleeper_p"}})
		case "defer":
			rec("defer_p", "stack_roots", r.addr, tT, &Root{Kind: "defer", Goroutine: r.goid, Function: r.fn}, "<closure>.p").Note =
				"captured by a deferred closure (defer in a loop) of a blocked goroutine"
			addGoroutine(&Goroutine{ID: r.goid, Scenario: "stack_roots", Function: r.fn, Holds: []string{"defer_p"}})
		case "panic":
			rec("panic_value", "stack_roots", r.addr, tT, &Root{Kind: "panic", Goroutine: r.goid, Function: r.fn}).Note =
				"panic value of a goroutine whose deferred function blocks before recovering"
			addGoroutine(&Goroutine{ID: r.goid, Scenario: "stack_roots", Function: r.fn, Holds: []string{"panic_value"}})
		}
	}
}

// settleGoroutines waits until every recorded goroutine is parked, then
// copies wait reasons, frames and creators from the runtime's traceback.
func settleGoroutines(wantRunning int64) {
	for try := 0; ; try++ {
		st := allStacks()
		ok := true
		for _, g := range ourGoroutines {
			si := st[g.ID]
			if si == nil {
				fail("goroutine %d (%s) missing from traceback", g.ID, g.Function)
			}
			if (si.wait == "running" || si.wait == "runnable") && g.ID != wantRunning {
				ok = false
			}
			g.Wait, g.Frames, g.CreatedBy = si.wait, si.frames, si.createdBy
		}
		if ok {
			return
		}
		if try > 500 {
			fail("goroutines did not park")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
