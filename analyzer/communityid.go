package analyzer

import (
	"orchard/communityid"
	"orchard/flow"
)

// flowCommunityID is the Community ID (v1, seed 0) of a flow, the key that
// joins orchard's events with Zeek's, Suricata's and Wireshark's. It is
// computed when an event or a finding is made, never per packet.
func flowCommunityID(f *flow.Flow) string {
	return communityid.String(flowTuple(f))
}

// flowTuple is the tuple a flow's Community ID is the hash of.
func flowTuple(f *flow.Flow) communityid.Tuple {
	return communityid.Tuple{Src: f.Client, Dst: f.Server, SrcPort: f.CPort, DstPort: f.SPort, Proto: f.Proto}
}
