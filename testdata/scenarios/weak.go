//go:build go1.24

package main

import (
	"reflect"
	"runtime"
	"unsafe"
	"weak"
)

// Scenario "cleanup_weak" (Go 1.24+): AddCleanup arguments and weak pointers.
var (
	gCleanupOwner *T
	gStrongWeak   *T
	gWeakStrong   weak.Pointer[T]
	gWeakOnly     weak.Pointer[T]
	gWeakOnlyAddr uintptr
)

func cleanupT(a *T) { use(a) }

func setupCleanupWeak() {
	const sc = "cleanup_weak"
	gCleanupOwner = newT(900)
	arg := newT(901)
	runtime.AddCleanup(gCleanupOwner, cleanupT, arg)
	owner := hex(ptrOf(unsafe.Pointer(gCleanupOwner)))
	rec("cleanup_owner", sc, ptrOf(unsafe.Pointer(gCleanupOwner)), elemOf(gCleanupOwner), global("main.gCleanupOwner", unsafe.Pointer(&gCleanupOwner)))
	rec("cleanup_arg", sc, ptrOf(unsafe.Pointer(arg)), elemOf(arg), &Root{Kind: "cleanup", Object: owner}).Note =
		"rooted only as the argument of a cleanup attached to cleanup_owner (runtime-internal steps elided)"

	gStrongWeak = newT(902)
	gWeakStrong = weak.Make(gStrongWeak)
	rec("weak_and_strong", sc, ptrOf(unsafe.Pointer(gStrongWeak)), elemOf(gStrongWeak), global("main.gStrongWeak", unsafe.Pointer(&gStrongWeak))).Note =
		"also referenced weakly by main.gWeakStrong"
}

// makeWeakOnly runs after the last GC: the object is held by a weak pointer only.
//
//go:noinline
func makeWeakOnly() {
	p := newT(903)
	gWeakOnlyAddr = ptrOf(unsafe.Pointer(p))
	gWeakOnly = weak.Make(p)
}

func recordWeakOnly() {
	check(ptrOf(unsafe.Pointer(gWeakStrong.Value())) == ptrOf(unsafe.Pointer(gStrongWeak)), "weak pointer to strong object cleared")
	check(ptrOf(unsafe.Pointer(gWeakOnly.Value())) == gWeakOnlyAddr, "weak-only pointer cleared")
	truth.WeakOnly = append(truth.WeakOnly, dead("weak_only", "cleanup_weak", gWeakOnlyAddr, reflect.TypeOf(T{}),
		"allocated after the last GC, held only by weak pointer main.gWeakOnly"))
}
