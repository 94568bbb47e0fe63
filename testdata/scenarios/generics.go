package main

import (
	"reflect"
	"unsafe"
)

// Scenario "generics": instantiated generic types held by globals.
var (
	gBox  *Box[*T]
	gList *List[*T]
)

func setupGenerics() {
	const sc = "generics"
	tT := reflect.TypeOf(T{})
	gBox = &Box[*T]{v: newT(1200), next: &Box[*T]{v: newT(1201)}}
	g := global("main.gBox", unsafe.Pointer(&gBox))
	rec("box_head", sc, ptrOf(unsafe.Pointer(gBox)), elemOf(gBox), g)
	rec("box_head_v", sc, ptrOf(unsafe.Pointer(gBox.v)), tT, g, ".v")
	rec("box_next", sc, ptrOf(unsafe.Pointer(gBox.next)), elemOf(gBox.next), g, ".next")
	rec("box_next_v", sc, ptrOf(unsafe.Pointer(gBox.next.v)), tT, g, ".next", ".v")

	gList = &List[*T]{}
	for i := 0; i < 3; i++ {
		gList.Push(newT(1210 + i))
	}
	g = global("main.gList", unsafe.Pointer(&gList))
	rec("glist", sc, ptrOf(unsafe.Pointer(gList)), elemOf(gList), g)
	rec("glist_head", sc, ptrOf(unsafe.Pointer(gList.head)), elemOf(gList.head), g, ".head")
	rec("glist_tail", sc, ptrOf(unsafe.Pointer(gList.tail)), elemOf(gList.tail), g, ".tail")
	rec("glist_val1", sc, ptrOf(unsafe.Pointer(gList.head.next.val)), tT, g, ".head", ".next", ".val")
}
