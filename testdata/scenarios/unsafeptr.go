package main

import (
	"reflect"
	"unsafe"
)

// Scenario "unsafe": unsafe.Pointer and interior pointers.
var (
	gUnsafe   unsafe.Pointer
	gInterior *int64
	gBytePtr  *byte
)

func setupUnsafe() {
	const sc = "unsafe"
	p := newT(1100)
	gUnsafe = unsafe.Pointer(p)
	rec("unsafe_pointer", sc, ptrOf(gUnsafe), elemOf(p), global("main.gUnsafe", unsafe.Pointer(&gUnsafe)))

	in := &Inner{A: 1, B: 2, C: 3, P: newT(1101)}
	gInterior = &in.B
	o := rec("interior_struct", sc, ptrOf(unsafe.Pointer(in)), elemOf(in), global("main.gInterior", unsafe.Pointer(&gInterior)))
	o.Pointer = hex(ptrOf(unsafe.Pointer(gInterior)))
	o.Note = "root points at field B (offset 8)"
	rec("interior_struct_p", sc, ptrOf(unsafe.Pointer(in.P)), elemOf(in.P), global("main.gInterior", unsafe.Pointer(&gInterior)), ".P")

	arr := new([4096]byte)
	gBytePtr = &arr[2048]
	o = rec("interior_bytes", sc, ptrOf(unsafe.Pointer(arr)), reflect.TypeOf(*arr), global("main.gBytePtr", unsafe.Pointer(&gBytePtr)))
	o.Pointer = hex(ptrOf(unsafe.Pointer(gBytePtr)))
	o.Note = "root points at byte 2048"
}
