package main

import (
	"flag"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"strconv"
	"unsafe"
)

// Scenario "sites": allocation sites with known counts, types and lines.
var (
	gSitesSmall  []*Small
	gSitesMedium []*Medium
	gSitesBig    []*Big
	gSitesInline []*Inlined
	// Only in a replica run (-replica): more objects from allocSiteSmall.
	gReplicaSmall []*Small
)

const (
	nSmall  = 1000
	nMedium = 100
	nBig    = 4
	nInline = 300
	// What a replica allocates at allocSiteSmall on top of nSmall.
	nReplicaExtra = 500
)

//go:noinline
func allocSiteSmall(dst []*Small) (line int) {
	for i := range dst {
		x, l := new(Small), here()
		x.data[0] = int64(i)
		dst[i], line = x, l
	}
	return line
}

//go:noinline
func allocSiteMedium(dst []*Medium) (line int) {
	for i := range dst {
		x, l := new(Medium), here()
		x.data[0] = int64(i)
		dst[i], line = x, l
	}
	return line
}

//go:noinline
func allocSiteBig(dst []*Big) (line int) {
	for i := range dst {
		x, l := new(Big), here()
		x.data[0] = int64(i)
		dst[i], line = x, l
	}
	return line
}

// newInlined is small enough to be inlined into allocSiteInlined: pprof and
// rootpath name the allocation site after it, not after its caller.
func newInlined(i int) (*Inlined, int) {
	x, l := new(Inlined), here()
	x.data[0] = int64(i)
	return x, l
}

//go:noinline
func allocSiteInlined(dst []*Inlined) (line int) {
	for i := range dst {
		dst[i], line = newInlined(i)
	}
	return line
}

// A package-level flag: main's own code (and so its frame and DWARF) stays
// as it is without one.
var replica = flag.Bool("replica", false, "be another process of this build with more objects at one site: "+
	"write only heap.pprof and heap.txt (to -out), then exit")

// runReplica makes this process a replica that served more requests than
// the one whose core and heap dump are fixtures: same build, other counts.
// Its heap profiles are the fixtures' "replica.*".
func runReplica() {
	gReplicaSmall = make([]*Small, nReplicaExtra)
	allocSiteSmall(gReplicaSmall)
	runtime.GC()
	runtime.GC()
	out := flag.Lookup("out").Value.String()
	writeFile(out, "heap.pprof", func(f *os.File) error { return pprof.WriteHeapProfile(f) })
	writeFile(out, "heap.txt", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 1) })
	os.Exit(0)
}

func setupSites() {
	const sc = "sites"
	gSitesSmall = make([]*Small, nSmall)
	gSitesMedium = make([]*Medium, nMedium)
	gSitesBig = make([]*Big, nBig)
	gSitesInline = make([]*Inlined, nInline)
	file := fileOf(allocSiteSmall)
	addSite(sc, "Small", "main.allocSiteSmall", "", file, allocSiteSmall(gSitesSmall), "main.gSitesSmall", unsafe.Pointer(&gSitesSmall), reflect.TypeOf(Small{}),
		ptrOf(unsafe.Pointer(gSitesSmall[0])), ptrOf(unsafe.Pointer(gSitesSmall[nSmall-1])), nSmall)
	addSite(sc, "Medium", "main.allocSiteMedium", "", file, allocSiteMedium(gSitesMedium), "main.gSitesMedium", unsafe.Pointer(&gSitesMedium), reflect.TypeOf(Medium{}),
		ptrOf(unsafe.Pointer(gSitesMedium[0])), ptrOf(unsafe.Pointer(gSitesMedium[nMedium-1])), nMedium)
	addSite(sc, "Big", "main.allocSiteBig", "", file, allocSiteBig(gSitesBig), "main.gSitesBig", unsafe.Pointer(&gSitesBig), reflect.TypeOf(Big{}),
		ptrOf(unsafe.Pointer(gSitesBig[0])), ptrOf(unsafe.Pointer(gSitesBig[nBig-1])), nBig)
	addSite(sc, "Inlined", "main.newInlined", "main.allocSiteInlined", file, allocSiteInlined(gSitesInline), "main.gSitesInline", unsafe.Pointer(&gSitesInline), reflect.TypeOf(Inlined{}),
		ptrOf(unsafe.Pointer(gSitesInline[0])), ptrOf(unsafe.Pointer(gSitesInline[nInline-1])), nInline)
	if *replica { // the last scenario: the replica's heap is now the fixture's
		runReplica()
	}
}

func fileOf(f interface{}) string {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	file, _ := fn.FileLine(fn.Entry())
	return file
}

// addSite records a site; inlinedInto names the function the site's
// function is inlined into ("" when it is not inlined).
func addSite(sc, short, fn, inlinedInto, file string, line int, glob string, globAddr unsafe.Pointer, t reflect.Type, first, last uintptr, n int) {
	g := global(glob, globAddr)
	truth.Sites = append(truth.Sites, &Site{Function: fn, InlinedInto: inlinedInto, File: file, Line: line, Count: n,
		Size: t.Size(), Type: t.String(), HasPointers: hasPtr(t), Root: *g})
	ref := &SiteRef{Function: fn, File: file, Line: line}
	rec("site_"+short+"_first", sc, first, t, g, "[0]").Site = ref
	rec("site_"+short+"_last", sc, last, t, g, "["+strconv.Itoa(n-1)+"]").Site = ref
	addStructure(&Structure{ID: "site_" + short, Scenario: sc, Root: *g,
		Objects: []StructObj{
			{Type: arrOf(n, reflect.PtrTo(t)).String(), Count: 1, Size: uintptr(n) * unsafe.Sizeof(uintptr(0)), HasPointers: true},
			{Type: t.String(), Count: n, Size: t.Size(), HasPointers: hasPtr(t)}},
		Exclusive: true, Note: "all objects of " + fn + " are held by this root alone"})
}
