package main

import (
	"reflect"
	"unsafe"
)

// Scenario "closures": captured variables, method values, a closure in an interface.
var (
	gClosure    func() int
	gMethod     func() int
	gAnyClosure interface{}
)

func setupClosures() {
	const sc = "closures"
	tT := reflect.TypeOf(T{})
	p := newT(500)
	s := []*T{newT(501), newT(502), newT(503)}
	gClosure = func() int { return p.ID + len(s) }
	ctx := closureCtx(unsafe.Pointer(&gClosure))
	// Captured by value in order of use: p, then the slice header of s.
	check(word(ctx, 1) == ptrOf(unsafe.Pointer(p)), "closure p layout")
	check(word(ctx, 2) == ptrOf(unsafe.Pointer(&s[0])) && word(ctx, 3) == 3, "closure s layout")
	g := global("main.gClosure", unsafe.Pointer(&gClosure))
	recClosure("closure_ctx", sc, ctx, 8+8+24, g)
	rec("closure_p", sc, ptrOf(unsafe.Pointer(p)), tT, g, "<closure>.p")
	rec("closure_s_array", sc, ptrOf(unsafe.Pointer(&s[0])), arrOf(3, reflect.TypeOf(p)), g, "<closure>.s")
	rec("closure_s_elem1", sc, ptrOf(unsafe.Pointer(s[1])), tT, g, "<closure>.s", "[1]")

	r := &Recv{t: newT(510), n: 1}
	gMethod = r.Method
	mctx := closureCtx(unsafe.Pointer(&gMethod))
	check(word(mctx, 1) == ptrOf(unsafe.Pointer(r)), "method value layout")
	g = global("main.gMethod", unsafe.Pointer(&gMethod))
	recClosure("method_value_ctx", sc, mctx, 16, g)
	rec("method_value_recv", sc, ptrOf(unsafe.Pointer(r)), elemOf(r), g, "<receiver>")
	rec("method_value_recv_t", sc, ptrOf(unsafe.Pointer(r.t)), tT, g, "<receiver>", ".t")

	q := newT(520)
	gAnyClosure = func() int { return q.ID }
	actx := uintptr((*[2]unsafe.Pointer)(unsafe.Pointer(&gAnyClosure))[1])
	check(word(actx, 1) == ptrOf(unsafe.Pointer(q)), "closure in interface layout")
	g = global("main.gAnyClosure", unsafe.Pointer(&gAnyClosure))
	recClosure("any_closure_ctx", sc, actx, 16, g)
	rec("any_closure_q", sc, ptrOf(unsafe.Pointer(q)), tT, g, "<closure>.q")
}
