package main

import (
	"reflect"
	"runtime"
	"strconv"
	"unsafe"
)

// Scenario "sites": allocation sites with known counts, types and lines.
var (
	gSitesSmall  []*Small
	gSitesMedium []*Medium
	gSitesBig    []*Big
)

const (
	nSmall  = 1000
	nMedium = 100
	nBig    = 4
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

func setupSites() {
	const sc = "sites"
	gSitesSmall = make([]*Small, nSmall)
	gSitesMedium = make([]*Medium, nMedium)
	gSitesBig = make([]*Big, nBig)
	file := fileOf(allocSiteSmall)
	addSite(sc, "main.allocSiteSmall", file, allocSiteSmall(gSitesSmall), "main.gSitesSmall", reflect.TypeOf(Small{}),
		ptrOf(unsafe.Pointer(gSitesSmall[0])), ptrOf(unsafe.Pointer(gSitesSmall[nSmall-1])), nSmall)
	addSite(sc, "main.allocSiteMedium", file, allocSiteMedium(gSitesMedium), "main.gSitesMedium", reflect.TypeOf(Medium{}),
		ptrOf(unsafe.Pointer(gSitesMedium[0])), ptrOf(unsafe.Pointer(gSitesMedium[nMedium-1])), nMedium)
	addSite(sc, "main.allocSiteBig", file, allocSiteBig(gSitesBig), "main.gSitesBig", reflect.TypeOf(Big{}),
		ptrOf(unsafe.Pointer(gSitesBig[0])), ptrOf(unsafe.Pointer(gSitesBig[nBig-1])), nBig)
}

func fileOf(f interface{}) string {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	file, _ := fn.FileLine(fn.Entry())
	return file
}

func addSite(sc, fn, file string, line int, glob string, t reflect.Type, first, last uintptr, n int) {
	g := global(glob)
	truth.Sites = append(truth.Sites, &Site{Function: fn, File: file, Line: line, Count: n, Size: t.Size(),
		Type: t.String(), HasPointers: hasPtr(t), Root: *g})
	ref := &SiteRef{Function: fn, File: file, Line: line}
	short := fn[len("main.allocSite"):]
	rec("site_"+short+"_first", sc, first, t, g, "[0]").Site = ref
	rec("site_"+short+"_last", sc, last, t, g, "["+strconv.Itoa(n-1)+"]").Site = ref
	addStructure(&Structure{ID: "site_" + short, Scenario: sc, Root: *g,
		Objects: []StructObj{
			{Type: arrOf(n, reflect.PtrTo(t)).String(), Count: 1, Size: uintptr(n) * unsafe.Sizeof(uintptr(0)), HasPointers: true},
			{Type: t.String(), Count: n, Size: t.Size(), HasPointers: hasPtr(t)}},
		Exclusive: true, Note: "all objects of " + fn + " are held by this root alone"})
}
