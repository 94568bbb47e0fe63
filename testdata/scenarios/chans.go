package main

import (
	"fmt"
	"reflect"
	"unsafe"
)

// Scenario "chan": a buffered channel holding elements, held by a global.
var gChan chan *T

func setupChan() {
	const sc = "chan"
	gChan = make(chan *T, 16)
	var sent []uintptr
	for i := 0; i < 5; i++ {
		p := newT(600 + i)
		sent = append(sent, ptrOf(unsafe.Pointer(p)))
		gChan <- p
	}
	// hchan.buf is the third word in every supported version.
	hchan := *(*uintptr)(unsafe.Pointer(&gChan))
	buf := word(hchan, 2)
	for i, a := range sent {
		check(word(buf, i) == a, "chan buffer slot %d", i)
	}
	g := global("main.gChan", unsafe.Pointer(&gChan))
	rec("chan_buffer", sc, buf, arrOf(16, reflect.TypeOf((*T)(nil))), g, "<chan buffer>")
	for _, i := range []int{0, 4} {
		rec(fmt.Sprintf("chan_elem%d", i), sc, sent[i], reflect.TypeOf(T{}), g, fmt.Sprintf("<chan buffer>[%d]", i))
	}
}
