//go:build !go1.24

package main

// Before Go 1.24 there are no weak pointers or cleanups.

func setupCleanupWeak() {}

func makeWeakOnly() {}

func recordWeakOnly() {}
