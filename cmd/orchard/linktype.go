package main

import (
	"github.com/gopacket/gopacket/layers"

	"orchard/decode"
)

// fileLinkType returns the LINKTYPE_ value capture files use for the DLT_
// value libpcap reports for a live interface on goos, as libpcap's
// pcap_dump maps it, so that live frames decode as the same capture's file
// would and evidence files carry the type Wireshark expects. The two
// differ where libpcap gives a link type a local number: Apple's libpcap
// reports PKTAP (rvi0, pktap, pktap,en0) as DLT_USER2 (149), written 258;
// raw IP is DLT_RAW 12 (14 on OpenBSD), written 101; OpenBSD's loopback
// is DLT_LOOP 12, written 108.
func fileLinkType(goos string, dlt layers.LinkType) layers.LinkType {
	openbsd := goos == "openbsd"
	switch {
	case dlt == 149 && (goos == "darwin" || goos == "ios"):
		return decode.LinkTypePKTAP
	case dlt == 12 && openbsd:
		return layers.LinkTypeLoop
	case dlt == 12 && !openbsd, dlt == 14 && openbsd:
		return layers.LinkTypeRaw
	}
	return dlt
}
