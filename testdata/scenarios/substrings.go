package main

import "unsafe"

// Scenario "substrings": small views pinning big backing arrays.
var (
	gSub    []byte
	gSubStr string
)

const (
	subBytesLen = 1 << 20
	subStrLen   = 256 << 10
)

func setupSubstrings() {
	const sc = "substrings"
	b := make([]byte, subBytesLen)
	for i := range b {
		b[i] = byte(i)
	}
	gSub = b[10:20]
	o := rec("subslice_backing", sc, ptrOf(unsafe.Pointer(&b[0])), arrOf(subBytesLen, bytesType), global("main.gSub", unsafe.Pointer(&gSub)))
	o.Pointer = hex(ptrOf(unsafe.Pointer(&gSub[0])))
	o.Note = "a 10-byte subslice b[10:20] keeps 1 MiB alive"

	tmp := make([]byte, subStrLen)
	for i := range tmp {
		tmp[i] = 'a' + byte(i%26)
	}
	s := string(tmp)
	gSubStr = s[100:105]
	o = rec("substring_backing", sc, uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&s))), arrOf(subStrLen, bytesType), global("main.gSubStr", unsafe.Pointer(&gSubStr)))
	o.Pointer = hex(uintptr(*(*unsafe.Pointer)(unsafe.Pointer(&gSubStr))))
	o.Note = "a 5-byte substring keeps a 256 KiB string alive (string data: typeless allocation)"
}
