package main

import (
	"fmt"
	"strconv"
	"unsafe"
)

// Scenario "maps": pointer keys and values in small and large maps.
var (
	mStr    map[string]*T
	mInt    map[int]*T
	mPtr    map[*K]*T
	mStruct map[int64]struct {
		a *T
		b [3]*T
	}
)

const mIntN = 5000

func setupMaps() {
	const sc = "maps"
	mStr = map[string]*T{}
	for i := 0; i < 8; i++ {
		mStr["k"+strconv.Itoa(i)] = newT(200 + i)
	}
	for _, k := range []string{"k0", "k7"} {
		p := mStr[k]
		rec("map_str_"+k, sc, ptrOf(unsafe.Pointer(p)), elemOf(p), global("main.mStr", unsafe.Pointer(&mStr)), "{"+strconv.Quote(k)+"}")
	}

	mInt = make(map[int]*T)
	for i := 0; i < mIntN; i++ {
		mInt[i] = newT(10000 + i)
	}
	for _, k := range []int{0, 2500, mIntN - 1} {
		p := mInt[k]
		rec(fmt.Sprintf("map_int_%d", k), sc, ptrOf(unsafe.Pointer(p)), elemOf(p), global("main.mInt", unsafe.Pointer(&mInt)), "{"+strconv.Itoa(k)+"}")
	}
	addStructure(&Structure{ID: "map_int5000", Scenario: sc, Root: *global("main.mInt", unsafe.Pointer(&mInt)),
		Objects:   []StructObj{{Type: "main.T", Count: mIntN, Size: unsafe.Sizeof(T{}), HasPointers: true}},
		Exclusive: true, Note: "values of a 5000-entry map[int]*T, held by this root alone (plus the map's own buckets/tables)"})

	mPtr = make(map[*K]*T)
	var keys []*K
	for i := 0; i < 100; i++ {
		k := &K{ID: i}
		keys = append(keys, k)
		mPtr[k] = newT(300 + i)
	}
	for _, i := range []int{0, 99} {
		k := keys[i]
		ks := hex(ptrOf(unsafe.Pointer(k)))
		rec(fmt.Sprintf("map_ptr_key%d", i), sc, ptrOf(unsafe.Pointer(k)), elemOf(k), global("main.mPtr", unsafe.Pointer(&mPtr)), "<key>{"+ks+"}")
		v := mPtr[k]
		rec(fmt.Sprintf("map_ptr_val%d", i), sc, ptrOf(unsafe.Pointer(v)), elemOf(v), global("main.mPtr", unsafe.Pointer(&mPtr)), "{"+ks+"}")
	}

	mStruct = make(map[int64]struct {
		a *T
		b [3]*T
	})
	for i := int64(0); i < 10; i++ {
		v := mStruct[i]
		v.a = newT(400 + int(i))
		for j := range v.b {
			v.b[j] = newT(410 + int(i)*3 + j)
		}
		mStruct[i] = v
	}
	v := mStruct[7]
	rec("map_struct_7_a", sc, ptrOf(unsafe.Pointer(v.a)), elemOf(v.a), global("main.mStruct", unsafe.Pointer(&mStruct)), "{7}", ".a")
	rec("map_struct_7_b2", sc, ptrOf(unsafe.Pointer(v.b[2])), elemOf(v.b[2]), global("main.mStruct", unsafe.Pointer(&mStruct)), "{7}", ".b", "[2]")
}
