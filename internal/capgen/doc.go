// Package capgen writes small pcap and pcapng captures and builds the frames
// that go in them, for tests and demos across orchard.
//
// A capture is written with a Writer:
//
//	var buf bytes.Buffer
//	w := capgen.NewPcap(&buf, layers.LinkTypeEthernet)
//	syn := capgen.TCP{Src: client, Dst: server, SrcPort: 50000, DstPort: 443,
//		Flags: capgen.SYN, Seq: 1, TTL: 64}
//	w.Write(t0, syn.Ethernet(clientMAC, routerMAC), 0)
//
// Frames are built from an IP packet (TCP, UDP, ICMPError and friends have
// an IP method and shortcuts for every link layer) wrapped in Ethernet (with
// VLAN/QinQ tags or PPPoE), Linux SLL or SLL2, BSD NULL/LOOP, raw IP, or
// Apple PKTAP. Checksums are computed. Speed is not a goal: this is tooling.
//
// It is a test tool: it must never import anything of orchard's own, and
// no shipped package may import it.
package capgen
