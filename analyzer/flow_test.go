package analyzer

import (
	"testing"
	"unsafe"
)

// TestFlowSize keeps the flow record from growing: it is in the table for
// every packet of a flood, 65536 of them by default.
func TestFlowSize(t *testing.T) {
	const max = 528 // bytes on 64-bit platforms (576 before the two halves)
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are checked on 64-bit platforms")
	}
	if n := unsafe.Sizeof(Flow{}); n > max {
		t.Errorf("Flow is %d bytes, more than %d", n, max)
	}
}

// TestFlowSwap checks that turning a flow around exchanges its two
// halves whole, and its addresses, ports and application halves with them.
func TestFlowSwap(t *testing.T) {
	f := &Flow{CPort: 443, SPort: 50000, firstRST: dirClient, app: &appFacts{}}
	f.Orig = Endpoint{Packets: 3, Bytes: 100, hist: hSYNACK, lastTTL: 52, seq0: 7}
	f.Resp = Endpoint{Packets: 1, hist: hSYN, lastTTL: 64, hasMAC: true}
	f.app.half[dirServer].httpTried = true
	f.swap()
	switch {
	case f.CPort != 50000 || f.SPort != 443:
		t.Errorf("ports %d → %d", f.CPort, f.SPort)
	case f.Orig.Packets != 1 || f.Orig.hist != hSYN || f.Orig.lastTTL != 64 || !f.Orig.hasMAC:
		t.Errorf("client half %+v", f.Orig)
	case f.Resp.Packets != 3 || f.Resp.Bytes != 100 || f.Resp.hist != hSYNACK || f.Resp.seq0 != 7:
		t.Errorf("server half %+v", f.Resp)
	case f.firstRST != dirServer:
		t.Errorf("first RST from %d, want the server", f.firstRST)
	case !f.app.half[dirClient].httpTried || f.app.half[dirServer].httpTried:
		t.Errorf("application halves not swapped: %+v", f.app.half)
	case f.side(dirClient) != &f.Orig || f.side(dirServer) != &f.Resp:
		t.Error("side does not name Orig and Resp")
	}
}
