package kafkaout

import "github.com/twmb/franz-go/pkg/kgo"

// Arena hands out records and the bytes of their keys and values carved
// from big blocks, so a stream of records costs one allocation per block
// rather than two per record (the record and its bytes). The producer
// keeps what it is given until the brokers took it; a block is freed by
// the garbage collector once none of its records is in flight. An Arena
// is not safe for concurrent use: each sending goroutine has its own.
type Arena struct {
	buf  []byte
	recs []kgo.Record
}

const (
	// arenaBlock is the size of a block of bytes; a record bigger than
	// what is left of it starts a new one (or grows on its own).
	arenaBlock = 64 << 10
	// arenaMinFree is the room under which Bytes starts a new block.
	arenaMinFree = 4 << 10
	// arenaRecords is the number of records of a block of records.
	arenaRecords = 256
)

// Bytes returns an empty slice to append one record's bytes to (its key,
// then its value), then to hand to Keep.
func (a *Arena) Bytes() []byte {
	if cap(a.buf)-len(a.buf) < arenaMinFree {
		a.buf = make([]byte, 0, arenaBlock)
	}
	return a.buf[len(a.buf):]
}

// Keep takes the bytes appended to a slice from Bytes: later slices from
// Bytes do not overlap them. It returns them with their capacity clipped.
func (a *Arena) Keep(b []byte) []byte {
	free := a.buf[len(a.buf):cap(a.buf)]
	if len(b) <= len(free) && len(b) > 0 && &b[0] == &free[0] {
		a.buf = a.buf[:len(a.buf)+len(b)]
	}
	// Otherwise append outgrew the block and b has its own array.
	return b[:len(b):len(b)]
}

// Record returns a zeroed record.
func (a *Arena) Record() *kgo.Record {
	if len(a.recs) == 0 {
		a.recs = make([]kgo.Record, arenaRecords)
	}
	r := &a.recs[0]
	a.recs = a.recs[1:]
	return r
}
