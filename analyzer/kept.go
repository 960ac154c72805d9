package analyzer

import "github.com/gopacket/gopacket/layers"

// frameRef is one frame as captured, for evidence.
type frameRef struct {
	link  layers.LinkType
	frame []byte
	ts    int64
}

// keptPacket is a packet kept for evidence.
type keptPacket struct {
	link  layers.LinkType
	ts    int64
	frame []byte
	note  string // set when written
}
