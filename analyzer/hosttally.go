package analyzer

import (
	"net/netip"
	"slices"
	"strconv"

	"orchard/flow"
)

// hostRec is an Apple host's tally as the judge keeps it: the report's
// summary and, beside it, what lets a flow skip comparing its strings.
type hostRec struct {
	HostSummary
	// ports are the portKeys of Ports, in the same order.
	ports [maxHostPorts]uint32
	// server is the address of the last server Servers was checked for
	// (hasServer: any).
	server    netip.Addr
	hasServer bool
}

// maxHostPorts caps the ports listed per host.
const maxHostPorts = 16

// hostStat tallies an Apple flow under its host. A host named by its
// address alone is found through the address's row, not the hosts map.
func (j *judge) hostStat(f *flow.Flow, at *attribution, v verdict) {
	var row *addrRow
	var h *hostRec
	if at.source == SourceIP {
		if row = j.env.addrRows.get(j.env.cat, f.Server); row.text == at.host {
			h = row.host
		} else {
			row = nil
		}
	}
	if h == nil {
		if h = j.hosts[at.host]; h == nil {
			if len(j.hosts) >= maxTracked {
				j.untracked++
				return
			}
			h = &hostRec{HostSummary: HostSummary{Host: at.host, NameSource: at.source, Service: at.service(), Section: at.section()}}
			j.hosts[at.host] = h
			j.hostOrder = append(j.hostOrder, &h.HostSummary)
		}
		if row != nil {
			row.host = h
		}
	}
	h.Flows++
	switch {
	case v.def != nil && v.sev >= SevWarn:
		h.Failed++
		if v.absent {
			h.Tally.AbsentFailed++
		}
		addFinding(&h.HostSummary, v.def.Name)
	case v.undecided != "":
		h.Undecided++
	default:
		h.OK++
	}
	if n := len(h.Ports); n < maxHostPorts {
		if k := portKey(at.port, f.Proto); !slices.Contains(h.ports[:n], k) {
			h.ports[n] = k
			h.Ports = append(h.Ports, protoName(f.Proto)+"/"+strconv.Itoa(int(at.port)))
		}
	}
	if len(h.Servers) < maxHostServers && (!h.hasServer || f.Server != h.server) {
		if row == nil {
			row = j.env.addrRows.get(j.env.cat, f.Server)
		}
		addServer(&h.HostSummary, row.text)
		h.server, h.hasServer = f.Server, true
	}
}
