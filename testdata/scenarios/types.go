package main

// T is the common retained object: 32 bytes with one pointer field.
type T struct {
	ID   int
	Ref  *T
	Name string
}

// Boxed is stored by value in an interface, so the runtime boxes a copy.
type Boxed struct {
	P *T
	N int
	M int
}

// Holder is a global struct with pointer fields.
type Holder struct {
	A *T
	B *T
	N int
}

// K is a map key object; 24 bytes keeps it out of the tiny allocator.
type K struct {
	ID  int
	Pad [2]int
}

// Pair repeats a pointer/scalar mask across an array.
type Pair struct {
	p *T
	n int
}

// Recv is the receiver of a method value.
type Recv struct {
	t *T
	n int
}

// Method is bound as a method value to a heap receiver.
func (r *Recv) Method() int { return r.n + r.t.ID }

// Inner is pointed into by an interior pointer.
type Inner struct {
	A int64
	B int64
	C int64
	P *T
}

// Box and List exercise generic type names.
type Box[V any] struct {
	v    V
	next *Box[V]
}

type lnode[E any] struct {
	val  E
	next *lnode[E]
}

type List[E any] struct {
	head *lnode[E]
	tail *lnode[E]
	n    int
}

func (l *List[E]) Push(v E) {
	n := &lnode[E]{val: v}
	if l.tail == nil {
		l.head = n
	} else {
		l.tail.next = n
	}
	l.tail = n
	l.n++
}

// Node is a singly linked list node (24 bytes).
type Node struct {
	next *Node
	a    int
	b    int
}

// RNode is a ring node (16 bytes).
type RNode struct {
	next *RNode
	id   int
}

// DNode is a doubly linked list node (24 bytes).
type DNode struct {
	prev *DNode
	next *DNode
	v    int
}

type DList struct {
	head *DNode
	tail *DNode
	n    int
}

// QB is queued for finalization while the finalizer goroutine is blocked.
type QB struct {
	ID  int
	Buf *[4096]byte
}

// Allocation-site types of known sizes.
type Small struct {
	next *Small
	data [7]int64
}

// Inlined is allocated by an inlined constructor (its site is newInlined,
// called from allocSiteInlined).
type Inlined struct {
	next *Inlined
	data [5]int64
}

type Medium struct {
	next *Medium
	data [127]int64
}

type Big struct {
	next *Big
	data [9999]int64
}

func newT(id int) *T { return &T{ID: id} }
