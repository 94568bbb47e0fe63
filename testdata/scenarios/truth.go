package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// Truth is written to truth.json; field names are the contract with the Rust tests.
type Truth struct {
	GoVersion      string       `json:"go_version"`
	Goarch         string       `json:"goarch"`
	Pid            int          `json:"pid"`
	Tids           []int        `json:"tids"`
	ExePath        string       `json:"exe_path"`
	MemProfileRate int          `json:"mem_profile_rate"`
	Files          Files        `json:"files"`
	Objects        []*Object    `json:"objects"`
	Structures     []*Structure `json:"structures"`
	Garbage        []*Object    `json:"garbage"`
	WeakOnly       []*Object    `json:"weak_only"`
	Goroutines     []*Goroutine `json:"goroutines"`
	Sites          []*Site      `json:"sites"`
	Crash          Crash        `json:"crash"`
}

type Files struct {
	HeapDump        string `json:"heap_dump"`
	HeapProfile     string `json:"heap_profile"`
	HeapProfileText string `json:"heap_profile_text"`
}

type Root struct {
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Addr      string `json:"addr,omitempty"`
	Goroutine int64  `json:"goroutine,omitempty"`
	Function  string `json:"function,omitempty"`
	Variable  string `json:"variable,omitempty"`
	Object    string `json:"object,omitempty"`
}

type SiteRef struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

type Object struct {
	ID          string    `json:"id"`
	Scenario    string    `json:"scenario"`
	Addr        string    `json:"addr"`
	Pointer     string    `json:"pointer,omitempty"`
	Type        string    `json:"type"`
	Size        uintptr   `json:"size"`
	HasPointers bool      `json:"has_pointers"`
	Live        bool      `json:"live"`
	AfterDump   bool      `json:"after_dump"`
	Root        *Root     `json:"root,omitempty"`
	Path        *[]string `json:"path,omitempty"`
	Depth       *int      `json:"depth,omitempty"`
	Site        *SiteRef  `json:"site,omitempty"`
	Func        string    `json:"func,omitempty"`
	AlsoRooted  []*Root   `json:"also_rooted_by,omitempty"`
	Why         string    `json:"why,omitempty"`
	Note        string    `json:"note,omitempty"`
}

type StructObj struct {
	Type        string  `json:"type"`
	Count       int     `json:"count"`
	Size        uintptr `json:"size"`
	HasPointers bool    `json:"has_pointers"`
}

type Structure struct {
	ID        string      `json:"id"`
	Scenario  string      `json:"scenario"`
	Root      Root        `json:"root"`
	Objects   []StructObj `json:"objects"`
	Exclusive bool        `json:"exclusive"`
	Note      string      `json:"note"`
}

type Goroutine struct {
	ID        int64    `json:"id"`
	Scenario  string   `json:"scenario"`
	Function  string   `json:"function"`
	CreatedBy string   `json:"created_by"`
	Wait      string   `json:"wait"`
	Holds     []string `json:"holds"`
	Frames    []string `json:"frames"`
}

type Site struct {
	Function    string  `json:"function"`
	InlinedInto string  `json:"inlined_into,omitempty"`
	File        string  `json:"file"`
	Line        int     `json:"line"`
	Count       int     `json:"count"`
	Size        uintptr `json:"size"`
	Type        string  `json:"type"`
	HasPointers bool    `json:"has_pointers"`
	Root        Root    `json:"root"`
}

type Crash struct {
	Goroutine int64  `json:"goroutine"`
	Function  string `json:"function"`
}

var truth = &Truth{
	Objects:    []*Object{},
	Structures: []*Structure{},
	Garbage:    []*Object{},
	WeakOnly:   []*Object{},
	Goroutines: []*Goroutine{},
	Sites:      []*Site{},
}

func hex(p uintptr) string { return "0x" + strconv.FormatUint(uint64(p), 16) }

// hasPtr reports whether values of t contain pointers the GC must scan.
func hasPtr(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Ptr, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface,
		reflect.Slice, reflect.String, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPtr(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasPtr(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// global is a root in the global variable name, at address addr (&variable:
// lets tests of stripped executables, which have no symbol names, check labels).
func global(name string, addr unsafe.Pointer) *Root {
	return &Root{Kind: "global", Name: name, Addr: hex(uintptr(addr))}
}

func stackRoot(g int64, fn, v string) *Root {
	return &Root{Kind: "stack", Goroutine: g, Function: fn, Variable: v}
}

// elemOf gives the pointee type of a pointer value.
func elemOf(p interface{}) reflect.Type { return reflect.TypeOf(p).Elem() }

// arrOf names a slice's backing array as the runtime sees it.
func arrOf(n int, elem reflect.Type) reflect.Type { return reflect.ArrayOf(n, elem) }

var bytesType = reflect.TypeOf(byte(0))

func steps(s ...string) *[]string {
	if s == nil {
		s = []string{}
	}
	return &s
}

func intp(n int) *int { return &n }

// rec records a live object of Go type t at address a.
func rec(id, scen string, a uintptr, t reflect.Type, r *Root, path ...string) *Object {
	return recSized(id, scen, a, t.String(), t.Size(), hasPtr(t), r, path...)
}

func recSized(id, scen string, a uintptr, typ string, size uintptr, ptrs bool, r *Root, path ...string) *Object {
	if a == 0 {
		fail("object %s has address 0", id)
	}
	for _, o := range truth.Objects {
		if o.ID == id {
			fail("duplicate object id %s", id)
		}
	}
	o := &Object{ID: id, Scenario: scen, Addr: hex(a), Type: typ, Size: size, HasPointers: ptrs,
		Live: true, Root: r, Path: steps(path...), Depth: intp(len(path))}
	truth.Objects = append(truth.Objects, o)
	return o
}

// dead builds a garbage/weak-only record (no root, no path).
func dead(id, scen string, a uintptr, t reflect.Type, why string) *Object {
	return &Object{ID: id, Scenario: scen, Addr: hex(a), Type: t.String(), Size: t.Size(),
		HasPointers: hasPtr(t), Why: why}
}

// recClosure records a closure context; size and pointer-ness are computed by the caller.
func recClosure(id, scen string, ctx uintptr, size uintptr, r *Root, path ...string) *Object {
	o := recSized(id, scen, ctx, "closure", size, true, r, path...)
	o.Func = funcName(word(ctx, 0))
	return o
}

func addStructure(s *Structure) { truth.Structures = append(truth.Structures, s) }

func funcName(pc uintptr) string {
	f := runtime.FuncForPC(pc)
	if f == nil {
		return "?"
	}
	return f.Name()
}

// ptrOf returns the address a pointer holds without keeping anything alive.
func ptrOf(p unsafe.Pointer) uintptr { return uintptr(p) }

// closureCtx returns the context object address of the func value stored at fv.
func closureCtx(fv unsafe.Pointer) uintptr { return uintptr(*(*unsafe.Pointer)(fv)) }

// word reads the i-th pointer-sized word at a, an address of a live object
// (loaded through memory so vet accepts the uintptr-to-pointer conversion).
func word(a uintptr, i int) uintptr {
	p := *(*unsafe.Pointer)(unsafe.Pointer(&a))
	return *(*uintptr)(unsafe.Add(p, i*int(unsafe.Sizeof(uintptr(0)))))
}

func check(ok bool, format string, args ...interface{}) {
	if !ok {
		fail("check failed: "+format, args...)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "scenarios: "+format+"\n", args...)
	os.Exit(3)
}

// curGoid parses the current goroutine's id from its traceback header.
func curGoid() int64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := strings.Fields(string(b[:n]))
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

// callerFunc names the function that called it (holders are go:noinline).
//
//go:noinline
func callerFunc() string {
	pcs := make([]uintptr, 1)
	runtime.Callers(2, pcs)
	f, _ := runtime.CallersFrames(pcs).Next()
	return f.Function
}

// here returns the line of the statement that called it, without allocating
// (so allocation sites stay the only allocations on their lines).
//
//go:noinline
func here() int {
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	_, line := runtime.FuncForPC(pcs[0] - 1).FileLine(pcs[0] - 1)
	return line
}

type stackInfo struct {
	wait      string
	frames    []string
	createdBy string
}

// allStacks parses runtime.Stack(all) into per-goroutine wait reasons and frames.
func allStacks() map[int64]*stackInfo {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	res := map[int64]*stackInfo{}
	for _, block := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		hdr := strings.TrimPrefix(lines[0], "goroutine ")
		sp := strings.Index(hdr, " ")
		id, err := strconv.ParseInt(hdr[:sp], 10, 64)
		if err != nil {
			continue
		}
		wait := hdr[sp+1:]
		wait = strings.TrimSuffix(strings.TrimPrefix(wait, "["), "]:")
		if i := strings.Index(wait, ", "); i >= 0 {
			wait = wait[:i]
		}
		si := &stackInfo{wait: wait, frames: []string{}}
		for _, l := range lines[1:] {
			switch {
			case strings.HasPrefix(l, "\t"), strings.HasPrefix(l, "..."):
			case strings.HasPrefix(l, "created by "):
				c := strings.TrimPrefix(l, "created by ")
				if i := strings.Index(c, " in goroutine "); i >= 0 {
					c = c[:i]
				}
				si.createdBy = c
			default:
				if i := strings.LastIndex(l, "("); i > 0 {
					l = l[:i]
				}
				si.frames = append(si.frames, l)
			}
		}
		res[id] = si
	}
	return res
}

func threadIDs() []int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fail("read /proc/self/task: %v", err)
	}
	var ids []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			ids = append(ids, n)
		}
	}
	sort.Ints(ids)
	return ids
}

func encodeTruth() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(truth); err != nil {
		fail("encode truth: %v", err)
	}
	return b.Bytes()
}
