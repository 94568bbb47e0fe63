package main

import (
	"reflect"
	"unsafe"
)

// Scenario "garbage": objects that died after the last GC (still in memory).
var (
	gSink  *T
	gSinkR *RNode
)

//go:noinline
func makeGarbage() {
	const sc = "garbage"
	why := "allocated after the last GC, stored to a global and dropped"
	g := newT(1300)
	gSink = g
	gSink = nil
	truth.Garbage = append(truth.Garbage, dead("garbage_single", sc, ptrOf(unsafe.Pointer(g)), reflect.TypeOf(T{}), why))

	a := &RNode{id: 1301}
	b := &RNode{id: 1302, next: a}
	a.next = b
	gSinkR = a
	gSinkR = nil
	tR := reflect.TypeOf(RNode{})
	truth.Garbage = append(truth.Garbage,
		dead("garbage_cycle_a", sc, ptrOf(unsafe.Pointer(a)), tR, why+" (cycle with garbage_cycle_b)"),
		dead("garbage_cycle_b", sc, ptrOf(unsafe.Pointer(b)), tR, why+" (cycle with garbage_cycle_a)"))

	c := &T{ID: 1303, Ref: gPtr}
	gSink = c
	gSink = nil
	truth.Garbage = append(truth.Garbage, dead("garbage_to_live", sc, ptrOf(unsafe.Pointer(c)), reflect.TypeOf(T{}),
		why+"; points at live object global_ptr"))
}

// Scenario "after_dump": allocated after the heap dump, before the core.
var gAfterDump []*T

func makeAfterDump() {
	const sc = "after_dump"
	gAfterDump = []*T{newT(1400), newT(1401), newT(1402)}
	g := global("main.gAfterDump", unsafe.Pointer(&gAfterDump))
	for _, o := range []*Object{
		rec("after_dump_array", sc, ptrOf(unsafe.Pointer(&gAfterDump[0])), arrOf(3, reflect.TypeOf(gAfterDump[0])), g),
		rec("after_dump_0", sc, ptrOf(unsafe.Pointer(gAfterDump[0])), reflect.TypeOf(T{}), g, "[0]"),
		rec("after_dump_2", sc, ptrOf(unsafe.Pointer(gAfterDump[2])), reflect.TypeOf(T{}), g, "[2]"),
	} {
		o.AfterDump = true
		o.Note = "in the core only, not in the heap dump or profiles"
	}
}
