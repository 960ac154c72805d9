package flow

import "github.com/gopacket/gopacket/layers"

// FrameRef is one frame as captured, for evidence.
type FrameRef struct {
	Link  layers.LinkType
	Frame []byte
	TS    int64
}

// KeptPacket is a packet kept for evidence.
type KeptPacket struct {
	Link  layers.LinkType
	TS    int64
	Frame []byte
	Note  string // set when written
}
