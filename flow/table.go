package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"time"
)

// Flow classes, each with its own idle timeout and LRU list.
const (
	classHandshake   = iota // TCP without a completed handshake
	classEstablished        // TCP established
	classClosed             // TCP closed (FIN both ways or RST): kept briefly for stragglers
	classUDP                // UDP
	NumClasses
)

// Timeouts are the idle timeouts of the flow table, by packet time.
type Timeouts struct {
	Handshake   time.Duration // default 90s: covers a device's SYN retries
	Established time.Duration // default 5m
	Closed      time.Duration // default 5s: long enough for stragglers, short enough for live findings
	UDP         time.Duration // default 60s
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Handshake <= 0 {
		t.Handshake = 90 * time.Second
	}
	if t.Established <= 0 {
		t.Established = 5 * time.Minute
	}
	if t.Closed <= 0 {
		t.Closed = 5 * time.Second
	}
	if t.UDP <= 0 {
		t.UDP = 60 * time.Second
	}
	return t
}

// lru is an intrusive doubly-linked list of flows, oldest first.
type lru struct{ Head, tail *Flow }

func (l *lru) push(f *Flow) {
	f.prev, f.Next = l.tail, nil
	if l.tail != nil {
		l.tail.Next = f
	} else {
		l.Head = f
	}
	l.tail = f
}

func (l *lru) remove(f *Flow) {
	if f.prev != nil {
		f.prev.Next = f.Next
	} else {
		l.Head = f.Next
	}
	if f.Next != nil {
		f.Next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.Next = nil, nil
}

// slot is one entry of the flow index: the flow and the hash of its key
// (f == nil: empty).
type slot struct {
	hash uint64
	Flow *Flow
}

// flowIndex is an open-addressing hash table of flows, with linear probing
// and backward-shift deletion (no tombstones). It doubles while it is more
// than half full, so it never holds more than twice the flow cap in slots.
// Its hash is keyed with a random seed: addresses and ports come from the
// wire, and an unkeyed hash would let crafted flows share one probe chain.
type flowIndex struct {
	Slots []slot
	shift uint // 64 - log2(len(slots)): a hash's home slot is hash >> shift
	N     int
	seed  [6]uint64
}

// hash returns the keyed hash of k: three 64x64->128-bit multiplications
// folded (hi ^ lo), as in wyhash.
func (x *flowIndex) hash(k *Key) uint64 {
	le := binary.LittleEndian
	s := &x.seed
	h1 := mum(le.Uint64(k.a[:8])^s[0], le.Uint64(k.a[8:])^s[1])
	h2 := mum(le.Uint64(k.b[:8])^s[2], le.Uint64(k.b[8:])^s[3])
	ports := uint64(k.pa)<<24 | uint64(k.pb)<<8 | uint64(k.proto)
	return mum(ports^s[4], h1^h2^s[5])
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// newSeed fills the index's hash seed with random bits.
func (x *flowIndex) newSeed() {
	for i := range x.seed {
		x.seed[i] = rand.Uint64() | 1
	}
}

const minIndexSlots = 1024

func (x *flowIndex) init(size int) {
	x.Slots = make([]slot, size)
	x.shift = 64 - uint(bits.TrailingZeros(uint(size)))
	x.N = 0
}

// get returns the flow of k (whose hash is h), or nil.
func (x *flowIndex) get(k *Key, h uint64) *Flow {
	if x.Slots == nil {
		return nil
	}
	mask := uint64(len(x.Slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.Slots[i]
		if s.Flow == nil {
			return nil
		}
		if s.hash == h && s.Flow.key.equal(k) {
			return s.Flow
		}
	}
}

// insert adds f, whose key has hash h and is not in the index.
func (x *flowIndex) insert(f *Flow, h uint64) {
	if x.Slots == nil {
		x.init(minIndexSlots)
	} else if 2*(x.N+1) > len(x.Slots) {
		x.grow()
	}
	x.place(f, h)
	x.N++
}

func (x *flowIndex) place(f *Flow, h uint64) {
	mask := uint64(len(x.Slots) - 1)
	i := h >> x.shift
	for x.Slots[i].Flow != nil {
		i = (i + 1) & mask
	}
	x.Slots[i] = slot{hash: h, Flow: f}
}

func (x *flowIndex) grow() {
	old, n := x.Slots, x.N
	x.init(2 * len(old))
	for _, s := range old {
		if s.Flow != nil {
			x.place(s.Flow, s.hash)
		}
	}
	x.N = n
}

// remove deletes f, whose key has hash h, and shifts back the entries
// after it that probed past its slot, so lookups stay correct.
func (x *flowIndex) remove(f *Flow, h uint64) {
	if x.Slots == nil {
		return
	}
	mask := uint64(len(x.Slots) - 1)
	i := h >> x.shift
	for x.Slots[i].Flow != f {
		if x.Slots[i].Flow == nil {
			return // not indexed
		}
		i = (i + 1) & mask
	}
	x.N--
	for j := (i + 1) & mask; x.Slots[j].Flow != nil; j = (j + 1) & mask {
		// The entry at j may move to the hole at i unless its home slot
		// lies cyclically in (i, j].
		home := x.Slots[j].hash >> x.shift
		if (j-home)&mask >= (j-i)&mask {
			x.Slots[i] = x.Slots[j]
			i = j
		}
	}
	x.Slots[i] = slot{}
}

// FlowEnder is told of every flow that ends.
type FlowEnder interface {
	// flowEnded is told of a flow that expired, was evicted or was left at
	// the end. The flow is the table's: it is recycled after the call
	// unless the sink sets HandedOff.
	FlowEnded(f *Flow, evicted bool)
}

// Table maps canonical keys to flows, expires them by packet time and keeps
// their number under a hard cap.
type Table struct {
	Flows   flowIndex
	Lists   [NumClasses]lru
	timeout [NumClasses]int64
	max     int
	free    []*Flow
	Evicted uint64
	peak    int
	sink    FlowEnder // told of every flow that ends
	Pool    bufPool   // stream buffers of ended flows
	Side    sideState // dissector state of ended flows
	// idx is the index of the packet being processed, stamped on the
	// flows it touches (the merge order of a Parallel).
	Idx uint64
}

// NewTable returns an empty table of at most max flows, with the idle
// timeouts t (their defaults where unset), that tells sink of every flow
// that ends.
func NewTable(max int, t Timeouts, sink FlowEnder) *Table {
	t = t.withDefaults()
	tb := &Table{
		max:  max,
		sink: sink,
	}
	tb.Flows.newSeed()
	tb.timeout[classHandshake] = int64(t.Handshake)
	tb.timeout[classEstablished] = int64(t.Established)
	tb.timeout[classClosed] = int64(t.Closed)
	tb.timeout[classUDP] = int64(t.UDP)
	return tb
}

// Get returns the flow of k, or nil.
func (t *Table) Get(k Key) *Flow {
	f, _ := t.find(&k)
	return f
}

// find returns the flow of k, or nil, and the hash of k (for AddHashed).
// It is flowIndex.get with the hash and the key comparison written out:
// it runs once per packet.
func (t *Table) find(k *Key) (*Flow, uint64) {
	x := &t.Flows
	le := binary.LittleEndian
	a0, a1 := le.Uint64(k.a[:8]), le.Uint64(k.a[8:])
	b0, b1 := le.Uint64(k.b[:8]), le.Uint64(k.b[8:])
	ports := uint64(k.pa)<<24 | uint64(k.pb)<<8 | uint64(k.proto)
	s := &x.seed
	hi, lo := bits.Mul64(a0^s[0], a1^s[1])
	h1 := hi ^ lo
	hi, lo = bits.Mul64(b0^s[2], b1^s[3])
	hi, lo = bits.Mul64(ports^s[4], h1^hi^lo^s[5])
	h := hi ^ lo
	if x.Slots == nil {
		return nil, h
	}
	mask := uint64(len(x.Slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		sl := &x.Slots[i]
		f := sl.Flow
		if f == nil {
			return nil, h
		}
		if sl.hash == h {
			o := &f.key
			d := (le.Uint64(o.a[:8]) ^ a0) | (le.Uint64(o.a[8:]) ^ a1) | (le.Uint64(o.b[:8]) ^ b0) | (le.Uint64(o.b[8:]) ^ b1)
			if d == 0 && o.pa == k.pa && o.pb == k.pb && o.proto == k.proto {
				return f, h
			}
		}
	}
}

// Add inserts a new flow for k, evicting the least recently seen flow when
// the table is full.
func (t *Table) Add(k Key, now int64) *Flow {
	return t.add(k, t.Flows.hash(&k), now)
}

// add is Add for a key whose hash h find returned: a packet of a new flow
// hashes its key once.
func (t *Table) add(k Key, h uint64, now int64) *Flow {
	if t.Flows.N >= t.max {
		t.evictOldest()
	}
	var f *Flow
	if n := len(t.free); n > 0 {
		f = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		f = new(Flow)
	}
	f.key = k
	f.FirstRST = -1
	f.First, f.Last = now, now
	f.Class = -1
	t.Flows.insert(f, h)
	if t.Flows.N > t.peak {
		t.peak = t.Flows.N
	}
	return f
}

// touch moves f to the tail of the list of its class.
func (t *Table) touch(f *Flow, class int8) {
	f.Touched = t.Idx
	if f.Class == class && t.Lists[class].tail == f {
		return // already the newest of its class
	}
	if f.Class >= 0 {
		t.Lists[f.Class].remove(f)
	}
	f.Class = class
	t.Lists[class].push(f)
}

// Expire ends every flow idle for longer than its class's timeout.
func (t *Table) Expire(now int64) {
	for c := range t.Lists {
		l := &t.Lists[c]
		for l.Head != nil && now-l.Head.Last > t.timeout[c] {
			t.End(l.Head, false)
		}
	}
}

func (t *Table) evictOldest() {
	var oldest *Flow
	for c := range t.Lists {
		if h := t.Lists[c].Head; h != nil && (oldest == nil || h.Last < oldest.Last) {
			oldest = h
		}
	}
	if oldest != nil {
		t.Evicted++
		t.End(oldest, true)
	}
}

// End removes f, reports it and recycles it.
func (t *Table) End(f *Flow, evicted bool) {
	if f.Class >= 0 {
		t.Lists[f.Class].remove(f)
	}
	t.Flows.remove(f, t.Flows.hash(&f.key))
	t.release(f)
	t.sink.FlowEnded(f, evicted)
	t.Pool.put(f.Orig.Stream.Buf)
	t.Pool.put(f.Resp.Stream.Buf)
	if f.HandedOff {
		// A Parallel's judge has it now, and gives it back when done.
		f.Orig.Stream.Buf, f.Resp.Stream.Buf = nil, nil
		return
	}
	t.Recycle(f)
}

// Recycle keeps f for a later add.
func (t *Table) Recycle(f *Flow) {
	if f.App != nil {
		t.putFacts(f.App)
	}
	*f = Flow{}
	if len(t.free) < 4096 {
		t.free = append(t.free, f)
	}
}

// Flush ends every flow, oldest first (end of input).
func (t *Table) Flush() {
	for {
		var oldest *Flow
		for c := range t.Lists {
			if h := t.Lists[c].Head; h != nil && (oldest == nil || h.Last < oldest.Last) {
				oldest = h
			}
		}
		if oldest == nil {
			return
		}
		t.End(oldest, false)
	}
}
