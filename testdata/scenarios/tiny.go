package main

import (
	"fmt"
	"reflect"
	"strconv"
	"unsafe"
)

// Scenario "tiny": pointer-free allocations under 16 bytes (tiny allocator).
var (
	gTiny      []*int32
	gShortStrs []string
)

func setupTiny() {
	const sc = "tiny"
	gTiny = make([]*int32, 50)
	for i := range gTiny {
		p := new(int32)
		*p = int32(i)
		gTiny[i] = p
	}
	g := global("main.gTiny", unsafe.Pointer(&gTiny))
	ti := reflect.TypeOf(int32(0))
	rec("tiny_array", sc, ptrOf(unsafe.Pointer(&gTiny[0])), arrOf(50, reflect.TypeOf(gTiny[0])), g)
	for _, i := range []int{0, 1, 49} {
		rec(fmt.Sprintf("tiny_int_%d", i), sc, ptrOf(unsafe.Pointer(gTiny[i])), ti, g, fmt.Sprintf("[%d]", i)).Note =
			"address inside a 16-byte tiny block shared with other int32s"
	}

	for i := 0; i < 5; i++ {
		gShortStrs = append(gShortStrs, strconv.Itoa(1000+i)+"x")
	}
	g = global("main.gShortStrs", unsafe.Pointer(&gShortStrs))
	for _, i := range []int{0, 4} {
		s := gShortStrs[i]
		rec(fmt.Sprintf("short_str_%d", i), sc, uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&s))), arrOf(len(s), bytesType), g,
			fmt.Sprintf("[%d]", i)).Note = "string data of " + strconv.Quote(s) + " (tiny allocation)"
	}
}
