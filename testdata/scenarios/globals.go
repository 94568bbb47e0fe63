package main

import (
	"reflect"
	"unsafe"
)

// Scenario "globals": one global of every kind.
var (
	gPtr    *T
	gSlice  []*T
	gArray  [4]*T
	gStruct Holder
	gIface  interface{}
	gBoxed  interface{}
	gFunc   func() int
	gMap    map[string]*T
)

func setupGlobals() {
	const sc = "globals"
	gPtr = newT(100)
	rec("global_ptr", sc, ptrOf(unsafe.Pointer(gPtr)), elemOf(gPtr), global("main.gPtr", unsafe.Pointer(&gPtr)))

	gSlice = []*T{newT(110), newT(111), newT(112), newT(113)}
	rec("global_slice_array", sc, ptrOf(unsafe.Pointer(&gSlice[0])), arrOf(4, elemOf(&gSlice[0])), global("main.gSlice", unsafe.Pointer(&gSlice)))
	rec("global_slice_elem2", sc, ptrOf(unsafe.Pointer(gSlice[2])), elemOf(gSlice[2]), global("main.gSlice", unsafe.Pointer(&gSlice)), "[2]")

	for i := range gArray {
		gArray[i] = newT(120 + i)
	}
	rec("global_array_elem1", sc, ptrOf(unsafe.Pointer(gArray[1])), elemOf(gArray[1]), global("main.gArray", unsafe.Pointer(&gArray)), "[1]")

	gStruct = Holder{A: newT(130), B: newT(131), N: 2}
	rec("global_struct_b", sc, ptrOf(unsafe.Pointer(gStruct.B)), elemOf(gStruct.B), global("main.gStruct", unsafe.Pointer(&gStruct)), ".B")

	ip := newT(140)
	gIface = ip
	rec("global_iface_ptr", sc, ptrOf(unsafe.Pointer(ip)), elemOf(ip), global("main.gIface", unsafe.Pointer(&gIface)))

	bp := newT(150)
	gBoxed = Boxed{P: bp, N: 1, M: 2}
	box := (*[2]unsafe.Pointer)(unsafe.Pointer(&gBoxed))[1]
	check(word(uintptr(box), 0) == ptrOf(unsafe.Pointer(bp)), "boxed value layout")
	rec("global_boxed", sc, uintptr(box), reflect.TypeOf(Boxed{}), global("main.gBoxed", unsafe.Pointer(&gBoxed)))
	rec("global_boxed_p", sc, ptrOf(unsafe.Pointer(bp)), elemOf(bp), global("main.gBoxed", unsafe.Pointer(&gBoxed)), ".P")

	fp := newT(160)
	gFunc = func() int { return fp.ID }
	ctx := closureCtx(unsafe.Pointer(&gFunc))
	check(word(ctx, 1) == ptrOf(unsafe.Pointer(fp)), "gFunc closure layout")
	recClosure("global_func_closure", sc, ctx, 16, global("main.gFunc", unsafe.Pointer(&gFunc)))
	rec("global_func_captured", sc, ptrOf(unsafe.Pointer(fp)), elemOf(fp), global("main.gFunc", unsafe.Pointer(&gFunc)), "<closure>.fp")

	gMap = map[string]*T{"alpha": newT(170), "beta": newT(171)}
	rec("global_map_alpha", sc, ptrOf(unsafe.Pointer(gMap["alpha"])), elemOf(gMap["alpha"]), global("main.gMap", unsafe.Pointer(&gMap)), `{"alpha"}`)
}
