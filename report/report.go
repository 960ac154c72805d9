package report

import (
	"net/netip"

	"orchard/flow"
)

// Report is the result of an analysis: the JSON document of --format json.
type Report struct {
	Capture  CaptureInfo      `json:"capture"`
	Findings []*Finding       `json:"findings"`
	Services []ServiceSummary `json:"services"`
	Hosts    []*HostSummary   `json:"hosts"`
	Devices  []*DeviceSummary `json:"devices"`
}

// CaptureInfo describes what was read.
type CaptureInfo struct {
	Files      []string   `json:"files"`
	First      string     `json:"first,omitempty"`
	Last       string     `json:"last,omitempty"`
	Duration   float64    `json:"duration"`
	Packets    uint64     `json:"packets"`
	Bytes      uint64     `json:"bytes"`
	Flows      uint64     `json:"flows"`
	AppleFlows uint64     `json:"apple_flows"`
	Devices    int        `json:"devices"`
	Stats      flow.Stats `json:"stats"`
	// Visibility says what the capture could see (both directions, loss).
	Visibility Visibility `json:"visibility"`
	Warnings   []string   `json:"warnings,omitempty"`
	Errors     []string   `json:"errors,omitempty"`
	// Live capture counters, when the input was an interface.
	Live *LiveStats `json:"live,omitempty"`
	// Sensor names the orchard that made the report (--sensor), and
	// Outputs count what event outputs such as Kafka delivered.
	Sensor  string        `json:"sensor,omitempty"`
	Outputs []OutputStats `json:"outputs,omitempty"`
}

// LiveStats are the capture counters of a live interface.
type LiveStats struct {
	Interface     string        `json:"interface"`
	Backend       string        `json:"backend,omitempty"` // afpacket or pcap
	Received      uint64        `json:"received"`
	DroppedKernel uint64        `json:"dropped_kernel"`
	DroppedIface  uint64        `json:"dropped_interface"`
	QueueFreezes  uint64        `json:"queue_freezes,omitempty"` // AF_PACKET: times a ring was full
	Sockets       []SocketStats `json:"sockets,omitempty"`       // AF_PACKET: per fanout socket
}

// SocketStats are one AF_PACKET socket's counters.
type SocketStats struct {
	Received     uint64 `json:"received"`
	Dropped      uint64 `json:"dropped"`
	QueueFreezes uint64 `json:"queue_freezes"`
}

// ServiceSummary is one catalog section's verdict.
type ServiceSummary struct {
	Section string   `json:"section"`
	Hosts   []string `json:"hosts"`
	Flows   int      `json:"flows"`
	OK      int      `json:"ok"`
	Failed  int      `json:"failed"`
	// Undecided counts flows and findings the capture could not decide.
	Undecided int    `json:"undecided,omitempty"`
	Verdict   string `json:"verdict"` // OK, BLOCKED, INTERCEPTED, DEGRADED, UNDECIDED, UNSEEN
}

// HostSummary tallies the flows to one Apple host.
type HostSummary struct {
	Host       string   `json:"host"`
	NameSource string   `json:"name_source"`
	Service    string   `json:"service,omitempty"`
	Section    string   `json:"section,omitempty"`
	Ports      []string `json:"ports"`
	Servers    []string `json:"servers"`
	Flows      int      `json:"flows"`
	OK         int      `json:"ok"`
	Failed     int      `json:"failed"`
	Undecided  int      `json:"undecided,omitempty"`
	Findings   []string `json:"findings,omitempty"`
	// Tally is the judge's bookkeeping; it is not part of the report.
	Tally HostTally `json:"-"`
}

// HostTally is what the judge keeps of a host beside its summary.
type HostTally struct {
	// AbsentFailed counts the failed flows that rest on an absent answer.
	AbsentFailed int
}

// DeviceSummary is one client device.
type DeviceSummary struct {
	Address    string   `json:"address"`
	MAC        string   `json:"mac,omitempty"`
	Processes  []string `json:"processes,omitempty"`
	Flows      int      `json:"flows"`
	AppleFlows int      `json:"apple_flows"`
	Failed     int      `json:"failed"`
	Findings   int      `json:"findings"`

	// Tally is the judge's bookkeeping; it is not part of the report.
	Tally DeviceTally `json:"-"`
}

// DeviceTally is what the judge keeps of a device beside its summary.
type DeviceTally struct {
	// AbsentFailed counts the failed flows that rest on an absent answer.
	AbsentFailed int
	// Addr and MAC are turned into Address and MAC when a report is made.
	Addr   netip.Addr
	MAC    [6]byte
	HasMAC bool
}

// Visibility says how much of the traffic the capture saw, the way Zeek
// flags possible_split_routing and estimates capture_loss: TCP flows of
// which only one side's packets were captured although they show the other
// side spoke, and bytes one side acknowledged that the capture never saw.
type Visibility struct {
	// Flows counts the flows that show whether both sides were seen: TCP
	// flows, and QUIC flows whose client sent 1-RTT packets.
	Flows uint64 `json:"flows"`
	// BothSides counts those with packets from both sides.
	BothSides uint64 `json:"both_sides"`
	// DevicesOnly counts flows with only the client's packets, which
	// nonetheless acknowledge or carry data after the handshake: the
	// server answered, out of the capture's sight.
	DevicesOnly uint64 `json:"devices_only"`
	// ServersOnly counts flows with only the server's packets.
	ServersOnly uint64 `json:"servers_only"`
	// UDPRequests counts unicast DNS, NTP and QUIC flows with requests
	// and no packet back; UDPAnswers those with answers (DNS responses,
	// NTP replies) and no request; UDPBothSides those with both.
	UDPRequests  uint64 `json:"udp_requests_only"`
	UDPAnswers   uint64 `json:"udp_answers_only"`
	UDPBothSides uint64 `json:"udp_both_sides"`
	// Missing is "servers" when only the devices' packets are seen,
	// "devices" when only the servers' are.
	Missing string `json:"missing,omitempty"`
	// AckedBytes and MissedBytes are the payload bytes acknowledged in
	// flows seen both ways, and those of them the capture did not see.
	AckedBytes  uint64 `json:"acked_bytes"`
	MissedBytes uint64 `json:"missed_bytes"`
	// Loss is MissedBytes / AckedBytes.
	Loss float64 `json:"capture_loss"`
	// Statement says, in one line, what the capture cannot show; empty
	// when it sees both directions without much loss.
	Statement string `json:"statement,omitempty"`
	// Withheld counts the findings made undecided because they rest on an
	// answer the capture could not have seen.
	Withheld int `json:"withheld,omitempty"`
}
