package main

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Scenario "arrays": pointer arrays in each size band (small, header, large).
var (
	gPtrs8    []*T
	gPtrs100  []*T
	gPtrs8192 []*T
	gPairs100 []Pair
	gPairs5k  []Pair
)

func ptrSlice(n, base int) []*T {
	s := make([]*T, n)
	for i := range s {
		s[i] = newT(base + i)
	}
	return s
}

func pairSlice(n, base int) []Pair {
	s := make([]Pair, n)
	for i := range s {
		s[i] = Pair{p: newT(base + i), n: i}
	}
	return s
}

func setupArrays() {
	const sc = "arrays"
	tT := reflect.TypeOf(T{})
	gPtrs8 = ptrSlice(8, 1000)
	gPtrs100 = ptrSlice(100, 2000)
	gPtrs8192 = ptrSlice(8192, 20000)
	for _, a := range []struct {
		name string
		v    *[]*T
		s    []*T
	}{{"gPtrs8", &gPtrs8, gPtrs8}, {"gPtrs100", &gPtrs100, gPtrs100}, {"gPtrs8192", &gPtrs8192, gPtrs8192}} {
		n := len(a.s)
		g := global("main."+a.name, unsafe.Pointer(a.v))
		rec(fmt.Sprintf("ptrs%d_array", n), sc, ptrOf(unsafe.Pointer(&a.s[0])), arrOf(n, reflect.TypeOf(a.s[0])), g)
		rec(fmt.Sprintf("ptrs%d_first", n), sc, ptrOf(unsafe.Pointer(a.s[0])), tT, g, "[0]")
		rec(fmt.Sprintf("ptrs%d_last", n), sc, ptrOf(unsafe.Pointer(a.s[n-1])), tT, g, fmt.Sprintf("[%d]", n-1))
	}
	addStructure(&Structure{ID: "ptrs8192", Scenario: sc, Root: *global("main.gPtrs8192", unsafe.Pointer(&gPtrs8192)),
		Objects: []StructObj{
			{Type: "[8192]*main.T", Count: 1, Size: 8192 * 8, HasPointers: true},
			{Type: "main.T", Count: 8192, Size: unsafe.Sizeof(T{}), HasPointers: true}},
		Exclusive: true, Note: "large pointer array and its elements, held by this root alone"})

	gPairs100 = pairSlice(100, 30000)
	gPairs5k = pairSlice(5000, 40000)
	for _, a := range []struct {
		name string
		v    *[]Pair
		s    []Pair
	}{{"gPairs100", &gPairs100, gPairs100}, {"gPairs5k", &gPairs5k, gPairs5k}} {
		n := len(a.s)
		g := global("main."+a.name, unsafe.Pointer(a.v))
		rec(fmt.Sprintf("pairs%d_array", n), sc, ptrOf(unsafe.Pointer(&a.s[0])), arrOf(n, reflect.TypeOf(Pair{})), g)
		rec(fmt.Sprintf("pairs%d_first", n), sc, ptrOf(unsafe.Pointer(a.s[0].p)), tT, g, "[0]", ".p")
		rec(fmt.Sprintf("pairs%d_last", n), sc, ptrOf(unsafe.Pointer(a.s[n-1].p)), tT, g, fmt.Sprintf("[%d]", n-1), ".p")
	}
	addStructure(&Structure{ID: "pairs5000", Scenario: sc, Root: *global("main.gPairs5k", unsafe.Pointer(&gPairs5k)),
		Objects: []StructObj{
			{Type: "[5000]main.Pair", Count: 1, Size: 5000 * unsafe.Sizeof(Pair{}), HasPointers: true},
			{Type: "main.T", Count: 5000, Size: unsafe.Sizeof(T{}), HasPointers: true}},
		Exclusive: true, Note: "array of {pointer, int} pairs (mask repeats) and its elements, held by this root alone"})
}
