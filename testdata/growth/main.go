// Command growth is the fixture for `rootpath diff`: a process whose heap
// grows through one holder between two snapshots, while garbage churns and
// a bounded cache is refreshed in place. At each snapshot it writes what it
// holds (truth-N.json) and a heap dump of the live process (heap-N.dump).
// (gcore would do too, but its cores of a Go process hold the runtime's
// whole address space reservation, a gigabyte of zeros each.)
//
// Sizes are chosen to be exact size classes (Record 48 bytes, payload 128,
// CacheItem 32, cache data 64) and the leak's backing array is cap*8 bytes,
// which is what append allocated (it rounds the capacity up to the size
// class), so the truth's byte counts are what the runtime allocated.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
)

// Record is what leaks: 48 bytes (a size class) with a 128-byte payload.
type Record struct {
	ID      int
	Payload []byte
	Tag     string
}

// CacheItem is what the bounded cache holds: 32 bytes with 64 bytes of data.
type CacheItem struct {
	Key  int
	Data []byte
}

const (
	recordSize    = 48
	payloadSize   = 128
	cacheItemSize = 32
	cacheDataSize = 64
	cacheKeys     = 256
)

// leaked only grows: the leak.
var leaked []*Record

// cache has a fixed key set whose values are replaced: it churns but does
// not grow.
var cache = make(map[int]*CacheItem, cacheKeys)

// sink defeats escape analysis for the garbage.
var sink interface{}

//go:noinline
func newRecord(id int) *Record {
	return &Record{ID: id, Payload: make([]byte, payloadSize), Tag: "leak"}
}

//go:noinline
func newCacheItem(k int) *CacheItem {
	return &CacheItem{Key: k, Data: make([]byte, cacheDataSize)}
}

//go:noinline
func growLeak(n int) {
	for i := 0; i < n; i++ {
		leaked = append(leaked, newRecord(len(leaked)))
	}
}

//go:noinline
func refreshCache() {
	for k := 0; k < cacheKeys; k++ {
		cache[k] = newCacheItem(k)
	}
}

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 16+i%200)
	}
	sink = nil
}

// Holding is what one holder keeps alive, as the runtime allocated it.
type Holding struct {
	Holder  string `json:"holder"`
	Items   int    `json:"items"`
	Bytes   uint64 `json:"bytes"`
	Objects uint64 `json:"objects"`
}

type Truth struct {
	GoVersion string `json:"go_version"`
	Pid       int    `json:"pid"`
	Snapshot  int    `json:"snapshot"`
	// The leak: the backing array of `leaked` and every record with its payload.
	Leak Holding `json:"leak"`
	// The leak's backing array: size and address (the accumulation point).
	LeakArrayBytes uint64 `json:"leak_array_bytes"`
	// The cache's items and their data (its map table is left out: its
	// size depends on the map implementation, and it is the same at
	// both snapshots, as no key is added).
	Cache Holding `json:"cache"`
	// The type and the allocating function of the leaked records.
	LeakType string `json:"leak_type"`
	LeakSite string `json:"leak_site"`
}

func snapshot(dir string, n int) {
	runtime.GC()
	runtime.GC()
	t := Truth{
		GoVersion: runtime.Version(),
		Pid:       os.Getpid(),
		Snapshot:  n,
		Leak: Holding{
			Holder:  "main.leaked",
			Items:   len(leaked),
			Bytes:   uint64(cap(leaked))*8 + uint64(len(leaked))*(recordSize+payloadSize),
			Objects: 1 + 2*uint64(len(leaked)),
		},
		LeakArrayBytes: uint64(cap(leaked)) * 8,
		Cache: Holding{
			Holder:  "main.cache",
			Items:   len(cache),
			Bytes:   uint64(len(cache)) * (cacheItemSize + cacheDataSize),
			Objects: 2 * uint64(len(cache)),
		},
		LeakType: "main.Record",
		LeakSite: "main.newRecord",
	}
	b, err := json.MarshalIndent(&t, "", "  ")
	if err != nil {
		panic(err)
	}
	name := func(s string) string { return filepath.Join(dir, s) }
	if err := os.WriteFile(name("truth-"+itoa(n)+".json"), b, 0o644); err != nil {
		panic(err)
	}
	f, err := os.Create(name("heap-" + itoa(n) + ".dump"))
	if err != nil {
		panic(err)
	}
	debug.WriteHeapDump(f.Fd())
	if err := f.Close(); err != nil {
		panic(err)
	}
}

func itoa(n int) string {
	return string(rune('0' + n))
}

func main() {
	runtime.MemProfileRate = 1
	dir := flag.String("out", ".", "where to write truth and the heap dumps")
	snapshots := flag.Int("snapshots", 3, "snapshots to take (at most 9)")
	flag.Parse()
	refreshCache()
	growLeak(1000)
	churn(20000)
	for n := 1; n <= *snapshots; n++ {
		if n > 1 {
			// Each step adds more than the last, and the cache is refreshed
			// (every item replaced, none added) amid garbage.
			growLeak(1500 * (n - 1))
			refreshCache()
			churn(20000)
		}
		snapshot(*dir, n)
	}
}
