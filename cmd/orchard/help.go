package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// helpTopics are the texts of orchard help TOPIC.
var helpTopics = map[string]string{
	"formats": `Report formats (--format):
  table   the terminal report (the default): a header, the findings, then the
          Apple services (or devices with --by device). Width: COLUMNS when
          set, else the terminal's; piped output without COLUMNS is laid out
          for 120 columns, so the layout is stable for scripts and diffs.
          Each finding is a table row when the evidence column gets at
          least 48 columns, else a block of lines: severity, finding and
          host; service, server, process and count; the evidence; the
          advice (after "→").
  json    one document: capture, findings (with advice), services, hosts,
          devices.
  ndjson  one JSON object a line: "flow" when a flow ends, "dns" for each
          answer, then for files every "finding" with its final count, and
          last {"type":"capture"} with the counters. --events FILE writes
          the same stream beside any format. Live, findings stream as they
          are decided.
  csv     the findings, with the JSON field names as columns (advice last).
          Cells starting with = + - @, a tab or a carriage return get a
          leading ' so spreadsheets do not run them as formulas.
`,
	"narrowing": `Narrowing what is read:
  orchard x.pcap port 53 or port 443      a BPF filter as trailing arguments
  orchard -f 'host 17.57.144.84' x.pcap   or with -f (libpcap's syntax; files
                                          need a cgo build, as live capture does)
  orchard --device 10.20.30.41 x.pcap     one device: an IP, a MAC, or a
                                          process name (PKTAP, tcpdump -k)
  orchard --since 10m --until 15m x.pcap  a window: RFC 3339 times, or
                                          durations from the capture's start
  orchard --count 100000 x.pcap           the first packets only (after the
                                          other narrowing)
Several files are merged by time stamp, as mergecap does, whatever the
order they are given in; files that overlap in time are noted.
`,
	"exit-status": exitStatusText,
	"evidence": `Evidence (--write-evidence FILE):
  A pcapng file with the packets of every flow flagged warn or error and
  the DNS answers that named their hosts, in time order. Each packet has a
  comment (pcapng opt_comment; tshark: frame.comment) naming the finding it
  supports, e.g. "tcp.syn_unanswered 27-courier.push.apple.com:5223". When
  nothing was flagged, no file is written and a note says so. The file
  stops at 1,048,576 packets, with a note counting the rest.
`,
	"outputs": `Outputs (-o, --events, --write-evidence):
  Each is written to a temporary file beside it and renamed into place when
  complete: a failed run leaves the old file untouched. An output that is
  the same file as an input (also through a symlink or a hard link) or as
  another output is refused before anything is read. Devices and FIFOs
  (/dev/null, /dev/full, a pipe) are written directly. Every write error is
  reported and makes the exit status 1.
`,
}

// helpTopicList names the topics, for the usage text.
const helpTopicList = "formats, narrowing, evidence, outputs, exit-status"

// runHelp is orchard help [TOPIC]: the usage, or one topic, on stdout.
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "flags" {
		writeUsage(stdout)
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintln(stderr, "orchard: help takes one topic (see orchard help)")
		return exitUsage
	}
	topic := strings.ToLower(args[0])
	switch topic {
	case "catalog":
		return runCatalog([]string{"-h"}, stdout, stderr)
	case "exit", "status", "exit-codes":
		topic = "exit-status"
	case "filter", "filters", "bpf":
		topic = "narrowing"
	case "format":
		topic = "formats"
	}
	if t, ok := helpTopics[topic]; ok {
		fmt.Fprint(stdout, t)
		return exitOK
	}
	var names []string
	for n := range helpTopics {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(stderr, "orchard: no help topic %q: try %s, catalog or flags\n", args[0], strings.Join(names, ", "))
	return exitUsage
}
