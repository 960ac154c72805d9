package flow

// Stats counts what the engine saw.
type Stats struct {
	Packets      uint64 `json:"packets"`
	Bytes        uint64 `json:"bytes"`
	TCP          uint64 `json:"tcp"`
	UDP          uint64 `json:"udp"`
	ICMP         uint64 `json:"icmp"`
	NonIP        uint64 `json:"non_ip"`
	Fragments    uint64 `json:"fragments"`
	FragDropped  uint64 `json:"fragments_dropped,omitempty"` // datagrams never completed (or over the limits)
	Undecodable  uint64 `json:"undecodable"`
	Unsupported  uint64 `json:"unsupported_link"`
	Flows        uint64 `json:"flows"`
	FlowsEvicted uint64 `json:"flows_evicted"`
	PeakFlows    int    `json:"peak_flows"`
	DNSResponses uint64 `json:"dns_responses"`
	Malformed    uint64 `json:"malformed"`               // application messages the dissectors rejected
	BufferDenied uint64 `json:"buffer_denied,omitempty"` // streams not buffered because BufferBudget was spent
	StateDenied  uint64 `json:"state_denied,omitempty"`  // dissector state refused because StateBudget was spent
	// Evidence (SetRecorder): packets of open flows not kept (beyond 64
	// a flow or 256 MiB in all), and packets the Recorder failed to write.
	EvidenceDropped uint64 `json:"evidence_dropped,omitempty"`
	EvidenceErrors  uint64 `json:"evidence_errors,omitempty"`
	First           int64  `json:"-"`
	Last            int64  `json:"-"`
	OpenFlows       int    `json:"-"` // flows in the table now
}

// Count counts a frame of wireLen bytes on the wire read at ts.
func (st *Stats) Count(ts int64, wireLen int) {
	st.Packets++
	st.Bytes += uint64(wireLen)
	if st.First == 0 || ts < st.First {
		st.First = ts
	}
	if ts > st.Last {
		st.Last = ts
	}
}
