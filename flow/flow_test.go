package flow

import (
	"testing"
	"unsafe"
)

// TestFlowSize keeps the flow record from growing: it is in the table for
// every packet of a flood, 65536 of them by default.
func TestFlowSize(t *testing.T) {
	const max = 504 // bytes on 64-bit platforms (528 before its fields were packed, 576 before the two halves)
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
	f := &Flow{CPort: 443, SPort: 50000, FirstRST: DirClient, App: &Facts{}}
	f.Orig = Endpoint{Packets: 3, Bytes: 100, Hist: HSYNACK, LastTTL: 52, seq0: 7}
	f.Resp = Endpoint{Packets: 1, Hist: HSYN, LastTTL: 64, HasMAC: true}
	f.App.half[DirServer].httpTried = true
	f.Swap()
	switch {
	case f.CPort != 50000 || f.SPort != 443:
		t.Errorf("ports %d → %d", f.CPort, f.SPort)
	case f.Orig.Packets != 1 || f.Orig.Hist != HSYN || f.Orig.LastTTL != 64 || !f.Orig.HasMAC:
		t.Errorf("client half %+v", f.Orig)
	case f.Resp.Packets != 3 || f.Resp.Bytes != 100 || f.Resp.Hist != HSYNACK || f.Resp.seq0 != 7:
		t.Errorf("server half %+v", f.Resp)
	case f.FirstRST != DirServer:
		t.Errorf("first RST from %d, want the server", f.FirstRST)
	case !f.App.half[DirClient].httpTried || f.App.half[DirServer].httpTried:
		t.Errorf("application halves not swapped: %+v", f.App.half)
	case f.Side(DirClient) != &f.Orig || f.Side(DirServer) != &f.Resp:
		t.Error("side does not name Orig and Resp")
	}
}
