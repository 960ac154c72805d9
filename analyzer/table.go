package analyzer

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
	numClasses
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
type lru struct{ head, tail *Flow }

func (l *lru) push(f *Flow) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *lru) remove(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

// slot is one entry of the flow index: the flow and the hash of its key
// (f == nil: empty).
type slot struct {
	hash uint64
	f    *Flow
}

// flowIndex is an open-addressing hash table of flows, with linear probing
// and backward-shift deletion (no tombstones). It doubles while it is more
// than half full, so it never holds more than twice the flow cap in slots.
// Its hash is keyed with a random seed: addresses and ports come from the
// wire, and an unkeyed hash would let crafted flows share one probe chain.
type flowIndex struct {
	slots []slot
	shift uint // 64 - log2(len(slots)): a hash's home slot is hash >> shift
	n     int
	seed  [6]uint64
}

// hash returns the keyed hash of k: three 64x64->128-bit multiplications
// folded (hi ^ lo), as in wyhash.
func (x *flowIndex) hash(k *flowKey) uint64 {
	le := binary.LittleEndian
	s := &x.seed
	h1 := flowMum(le.Uint64(k.a[:8])^s[0], le.Uint64(k.a[8:])^s[1])
	h2 := flowMum(le.Uint64(k.b[:8])^s[2], le.Uint64(k.b[8:])^s[3])
	ports := uint64(k.pa)<<24 | uint64(k.pb)<<8 | uint64(k.proto)
	return flowMum(ports^s[4], h1^h2^s[5])
}

func flowMum(a, b uint64) uint64 {
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
	x.slots = make([]slot, size)
	x.shift = 64 - uint(bits.TrailingZeros(uint(size)))
	x.n = 0
}

// get returns the flow of k (whose hash is h), or nil.
func (x *flowIndex) get(k *flowKey, h uint64) *Flow {
	if x.slots == nil {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.f == nil {
			return nil
		}
		if s.hash == h && s.f.key.equal(k) {
			return s.f
		}
	}
}

// insert adds f, whose key has hash h and is not in the index.
func (x *flowIndex) insert(f *Flow, h uint64) {
	if x.slots == nil {
		x.init(minIndexSlots)
	} else if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(f, h)
	x.n++
}

func (x *flowIndex) place(f *Flow, h uint64) {
	mask := uint64(len(x.slots) - 1)
	i := h >> x.shift
	for x.slots[i].f != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = slot{hash: h, f: f}
}

func (x *flowIndex) grow() {
	old, n := x.slots, x.n
	x.init(2 * len(old))
	for _, s := range old {
		if s.f != nil {
			x.place(s.f, s.hash)
		}
	}
	x.n = n
}

// remove deletes f, whose key has hash h, and shifts back the entries
// after it that probed past its slot, so lookups stay correct.
func (x *flowIndex) remove(f *Flow, h uint64) {
	if x.slots == nil {
		return
	}
	mask := uint64(len(x.slots) - 1)
	i := h >> x.shift
	for x.slots[i].f != f {
		if x.slots[i].f == nil {
			return // not indexed
		}
		i = (i + 1) & mask
	}
	x.n--
	for j := (i + 1) & mask; x.slots[j].f != nil; j = (j + 1) & mask {
		// The entry at j may move to the hole at i unless its home slot
		// lies cyclically in (i, j].
		home := x.slots[j].hash >> x.shift
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slot{}
}

// flowEnder is told of every flow that ends.
type flowEnder interface {
	// flowEnded is told of a flow that expired, was evicted or was left at
	// the end. The flow is the table's: it is recycled after the call
	// unless the sink sets handedOff.
	flowEnded(f *Flow, evicted bool)
}

// table maps canonical keys to flows, expires them by packet time and keeps
// their number under a hard cap.
type table struct {
	flows   flowIndex
	lists   [numClasses]lru
	timeout [numClasses]int64
	max     int
	free    []*Flow
	evicted uint64
	peak    int
	sink    flowEnder // told of every flow that ends
	pool    bufPool   // stream buffers of ended flows
	side    sideState // dissector state of ended flows
	// idx is the index of the packet being processed, stamped on the
	// flows it touches (the merge order of a Parallel).
	idx uint64
}

func newTable(max int, t Timeouts, sink flowEnder) *table {
	t = t.withDefaults()
	tb := &table{
		max:  max,
		sink: sink,
	}
	tb.flows.newSeed()
	tb.timeout[classHandshake] = int64(t.Handshake)
	tb.timeout[classEstablished] = int64(t.Established)
	tb.timeout[classClosed] = int64(t.Closed)
	tb.timeout[classUDP] = int64(t.UDP)
	return tb
}

// get returns the flow of k, or nil. It is flowIndex.get with the hash and
// the key comparison written out: it runs once per packet.
func (t *table) get(k flowKey) *Flow {
	x := &t.flows
	if x.slots == nil {
		return nil
	}
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
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		f := sl.f
		if f == nil {
			return nil
		}
		if sl.hash == h {
			o := &f.key
			d := (le.Uint64(o.a[:8]) ^ a0) | (le.Uint64(o.a[8:]) ^ a1) | (le.Uint64(o.b[:8]) ^ b0) | (le.Uint64(o.b[8:]) ^ b1)
			if d == 0 && o.pa == k.pa && o.pb == k.pb && o.proto == k.proto {
				return f
			}
		}
	}
}

// add inserts a new flow for k, evicting the least recently seen flow when
// the table is full.
func (t *table) add(k flowKey, now int64) *Flow {
	if t.flows.n >= t.max {
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
	f.firstRST = -1
	f.First, f.Last = now, now
	f.class = -1
	t.flows.insert(f, t.flows.hash(&k))
	if t.flows.n > t.peak {
		t.peak = t.flows.n
	}
	return f
}

// touch moves f to the tail of the list of its class.
func (t *table) touch(f *Flow, class int8) {
	f.touched = t.idx
	if f.class == class && t.lists[class].tail == f {
		return // already the newest of its class
	}
	if f.class >= 0 {
		t.lists[f.class].remove(f)
	}
	f.class = class
	t.lists[class].push(f)
}

// expire ends every flow idle for longer than its class's timeout.
func (t *table) expire(now int64) {
	for c := range t.lists {
		l := &t.lists[c]
		for l.head != nil && now-l.head.Last > t.timeout[c] {
			t.end(l.head, false)
		}
	}
}

func (t *table) evictOldest() {
	var oldest *Flow
	for c := range t.lists {
		if h := t.lists[c].head; h != nil && (oldest == nil || h.Last < oldest.Last) {
			oldest = h
		}
	}
	if oldest != nil {
		t.evicted++
		t.end(oldest, true)
	}
}

// end removes f, reports it and recycles it.
func (t *table) end(f *Flow, evicted bool) {
	if f.class >= 0 {
		t.lists[f.class].remove(f)
	}
	t.flows.remove(f, t.flows.hash(&f.key))
	t.release(f)
	t.sink.flowEnded(f, evicted)
	t.pool.put(f.Orig.stream.buf)
	t.pool.put(f.Resp.stream.buf)
	if f.handedOff {
		// A Parallel's judge has it now, and gives it back when done.
		f.Orig.stream.buf, f.Resp.stream.buf = nil, nil
		return
	}
	t.recycle(f)
}

// recycle keeps f for a later add.
func (t *table) recycle(f *Flow) {
	if f.app != nil {
		t.putFacts(f.app)
	}
	*f = Flow{}
	if len(t.free) < 4096 {
		t.free = append(t.free, f)
	}
}

// flush ends every flow, oldest first (end of input).
func (t *table) flush() {
	for {
		var oldest *Flow
		for c := range t.lists {
			if h := t.lists[c].head; h != nil && (oldest == nil || h.Last < oldest.Last) {
				oldest = h
			}
		}
		if oldest == nil {
			return
		}
		t.end(oldest, false)
	}
}
