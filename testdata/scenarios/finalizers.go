package main

import (
	"reflect"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// Scenario "finalizers": a finalizer closure as the only root of an object,
// a finalizer blocked forever (A) and an object queued behind it (B).
var (
	gFinObj    *T
	finBlock   = make(chan int) // never written: A's finalizer blocks on it
	aStarted   = make(chan struct{})
	finAAddr   uintptr
	finAGoid   int64
	finAFunc   string
	finBAddr   uintptr
	finBBuf    uintptr
	bFinalized int32
)

func finalizeA(a *T) {
	finAGoid, finAFunc = curGoid(), callerFunc()
	close(aStarted)
	<-finBlock
	runtime.KeepAlive(a)
}

func finalizeB(b *QB) {
	atomic.StoreInt32(&bFinalized, 1)
}

//go:noinline
func dropA() {
	a := newT(850)
	finAAddr = ptrOf(unsafe.Pointer(a))
	runtime.SetFinalizer(a, finalizeA)
}

//go:noinline
func dropB() {
	b := &QB{ID: 860, Buf: new([4096]byte)}
	finBAddr, finBBuf = ptrOf(unsafe.Pointer(b)), ptrOf(unsafe.Pointer(b.Buf))
	runtime.SetFinalizer(b, finalizeB)
}

// setupQueuedFinalizers makes A's finalizer start (and block) before B
// becomes garbage, so B stays queued in finq for the rest of the run.
func setupQueuedFinalizers() {
	dropA()
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-aStarted:
		case <-time.After(200 * time.Millisecond):
			if i > 50 {
				fail("finalizer of A never started")
			}
			continue
		}
		break
	}
	dropB()
}

func setupFinalizerClosure() {
	const sc = "finalizers"
	gFinObj = newT(800)
	other := newT(801)
	fn := func(o *T) { use(other) }
	ctx := closureCtx(unsafe.Pointer(&fn))
	check(word(ctx, 1) == ptrOf(unsafe.Pointer(other)), "finalizer closure layout")
	runtime.SetFinalizer(gFinObj, fn)
	owner := hex(ptrOf(unsafe.Pointer(gFinObj)))
	rec("finalizer_owner", sc, ptrOf(unsafe.Pointer(gFinObj)), elemOf(gFinObj), global("main.gFinObj", unsafe.Pointer(&gFinObj)))
	recClosure("finalizer_closure", sc, ctx, 16, &Root{Kind: "finalizer", Object: owner})
	rec("finalizer_captured", sc, ptrOf(unsafe.Pointer(other)), elemOf(other), &Root{Kind: "finalizer", Object: owner}, "<closure>.other").Note =
		"rooted only by the finalizer closure of finalizer_owner"
}

// recordQueuedFinalizers runs after the last GC: B must still be unfinalized.
func recordQueuedFinalizers() {
	const sc = "finalizers"
	check(atomic.LoadInt32(&bFinalized) == 0, "finalizer of B already ran")
	a := rec("fin_a_running", sc, finAAddr, reflect.TypeOf(T{}), stackRoot(finAGoid, finAFunc, "a"))
	a.AlsoRooted = []*Root{{Kind: "queued_finalizer"}}
	a.Note = "argument of a finalizer that blocks forever; its finq block is still counted while it runs"
	rec("fin_b_queued", sc, finBAddr, reflect.TypeOf(QB{}), &Root{Kind: "queued_finalizer"}).Note =
		"unreachable, finalizer queued behind the blocked one, never run"
	rec("fin_b_buf", sc, finBBuf, reflect.TypeOf([4096]byte{}), &Root{Kind: "queued_finalizer"}, ".Buf")
	addGoroutine(&Goroutine{ID: finAGoid, Scenario: sc, Function: finAFunc, Holds: []string{"fin_a_running"}})
}
