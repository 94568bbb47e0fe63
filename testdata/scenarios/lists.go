package main

import (
	"reflect"
	"unsafe"
)

// Scenario "lists": a long list, a ring (cycle) and a doubly linked list.
var (
	gList20000 *Node
	gRing      *RNode
	gDList     *DList
)

const (
	listN  = 20000
	ringN  = 100
	dlistN = 1000
)

func setupLists() {
	const sc = "lists"
	var tail *Node
	for i := 0; i < listN; i++ {
		n := &Node{a: i}
		if tail == nil {
			gList20000 = n
		} else {
			tail.next = n
		}
		tail = n
	}
	g := global("main.gList20000", unsafe.Pointer(&gList20000))
	tN := reflect.TypeOf(Node{})
	rec("list_head", sc, ptrOf(unsafe.Pointer(gList20000)), tN, g)
	rec("list_third", sc, ptrOf(unsafe.Pointer(gList20000.next.next)), tN, g, ".next", ".next")
	o := recSized("list_tail", sc, ptrOf(unsafe.Pointer(tail)), tN.String(), tN.Size(), true, g)
	o.Path, o.Depth = nil, intp(listN-1)
	o.Note = "path is \".next\" repeated 19999 times (omitted)"
	addStructure(&Structure{ID: "list20000", Scenario: sc, Root: *g,
		Objects:   []StructObj{{Type: tN.String(), Count: listN, Size: tN.Size(), HasPointers: true}},
		Exclusive: true, Note: "held by this root alone"})

	first := &RNode{id: 0}
	prev := first
	for i := 1; i < ringN; i++ {
		n := &RNode{id: i}
		prev.next = n
		prev = n
	}
	prev.next = first
	gRing = first
	g = global("main.gRing", unsafe.Pointer(&gRing))
	tR := reflect.TypeOf(RNode{})
	rec("ring_first", sc, ptrOf(unsafe.Pointer(first)), tR, g)
	rec("ring_second", sc, ptrOf(unsafe.Pointer(first.next)), tR, g, ".next")
	o = recSized("ring_last", sc, ptrOf(unsafe.Pointer(prev)), tR.String(), tR.Size(), true, g)
	o.Path, o.Depth = nil, intp(ringN-1)
	o.Note = "path is \".next\" repeated 99 times (omitted); its next is ring_first"
	addStructure(&Structure{ID: "ring100", Scenario: sc, Root: *g,
		Objects:   []StructObj{{Type: tR.String(), Count: ringN, Size: tR.Size(), HasPointers: true}},
		Exclusive: true, Note: "a cycle held by this root alone"})

	dl := &DList{}
	for i := 0; i < dlistN; i++ {
		n := &DNode{v: i, prev: dl.tail}
		if dl.tail == nil {
			dl.head = n
		} else {
			dl.tail.next = n
		}
		dl.tail = n
		dl.n++
	}
	gDList = dl
	g = global("main.gDList", unsafe.Pointer(&gDList))
	tD := reflect.TypeOf(DNode{})
	rec("dlist", sc, ptrOf(unsafe.Pointer(dl)), reflect.TypeOf(DList{}), g)
	rec("dlist_head", sc, ptrOf(unsafe.Pointer(dl.head)), tD, g, ".head")
	rec("dlist_second", sc, ptrOf(unsafe.Pointer(dl.head.next)), tD, g, ".head", ".next")
	rec("dlist_tail", sc, ptrOf(unsafe.Pointer(dl.tail)), tD, g, ".tail")
	rec("dlist_before_tail", sc, ptrOf(unsafe.Pointer(dl.tail.prev)), tD, g, ".tail", ".prev")
	addStructure(&Structure{ID: "dlist1000", Scenario: sc, Root: *g,
		Objects: []StructObj{
			{Type: "main.DList", Count: 1, Size: reflect.TypeOf(DList{}).Size(), HasPointers: true},
			{Type: tD.String(), Count: dlistN, Size: tD.Size(), HasPointers: true}},
		Exclusive: true, Note: "doubly linked list held by this root alone"})
}
