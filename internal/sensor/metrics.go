package sensor

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"orchard/analyzer"
)

// Status is what a capture publishes for the metrics, about once a second,
// from the goroutine that may read the engine's counters.
type Status struct {
	Stats analyzer.Stats
	Live  *analyzer.LiveStats // nil for files
	// Outputs are the event outputs' counters so far (Kafka).
	Outputs []analyzer.OutputStats
}

// Metrics serves Prometheus metrics of a running analysis and a health
// check. Counters come from the last published Status, read at scrape
// time, so the packet path pays nothing; findings are counted as they are
// decided (Finding). Safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	findings *prometheus.CounterVec
	stale    time.Duration
	now      func() time.Time

	mu      sync.Mutex
	st      Status
	started time.Time
	// lastPacket is when the packet count last grew, by this clock: a
	// capture's time stamps need not match it.
	lastPacket time.Time
	packets    uint64
	// vis is the visibility of the last report assembled (an interval
	// report or the final one), nil before the first.
	vis *analyzer.Visibility
}

// NewMetrics returns metrics whose health check fails when no packet
// arrived for stale.
func NewMetrics(stale time.Duration) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), stale: stale, now: time.Now}
	m.started = m.now()
	m.findings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orchard_findings_total",
		Help: "Findings decided (every occurrence, suppressed in the event stream or not), by finding name, catalog section and severity.",
	}, []string{"finding", "section", "severity"})
	m.reg.MustRegister(m.findings, (*statusCollector)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Publish records the counters so far.
func (m *Metrics) Publish(st Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st.Stats.Packets > m.packets || m.lastPacket.IsZero() && st.Stats.Packets > 0 {
		m.lastPacket = m.now()
	}
	m.packets = st.Stats.Packets
	m.st = st
}

// PublishVisibility records the visibility of a report just assembled,
// whose SPAN loss estimate joins the packet loss in
// orchard_capture_loss_ratio.
func (m *Metrics) PublishVisibility(v analyzer.Visibility) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vis = &v
}

// Finding counts one occurrence of a finding.
func (m *Metrics) Finding(f *analyzer.Finding) {
	m.findings.WithLabelValues(f.Finding, f.Section, f.Severity).Inc()
}

// Healthy reports whether a packet arrived within the stale time (or the
// capture started less than that long ago), and why not.
func (m *Metrics) Healthy() (bool, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.lastPacket.IsZero() {
		if age := now.Sub(m.started); age >= m.stale {
			return false, fmt.Sprintf("no packet since the start %s ago", age.Round(time.Second))
		}
		return true, "starting: no packet yet"
	}
	if age := now.Sub(m.lastPacket); age >= m.stale {
		return false, fmt.Sprintf("no packet for %s (limit %s)", age.Round(time.Second), m.stale)
	}
	return true, "ok"
}

// Handler serves /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, why := m.Healthy()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	return mux
}

// statusCollector turns the published Status into metrics at scrape time.
type statusCollector Metrics

var (
	descPackets     = prometheus.NewDesc("orchard_packets_total", "Packets analysed.", nil, nil)
	descBytes       = prometheus.NewDesc("orchard_bytes_total", "Bytes on the wire of the packets analysed.", nil, nil)
	descReceived    = prometheus.NewDesc("orchard_capture_received_total", "Packets the capture received (live).", nil, nil)
	descDropped     = prometheus.NewDesc("orchard_packets_dropped_total", "Packets lost before analysis, by cause: kernel (the capture buffer was full), interface (the NIC or driver dropped them).", []string{"cause"}, nil)
	descFreezes     = prometheus.NewDesc("orchard_capture_queue_freezes_total", "Times an AF_PACKET ring was full and froze its queue.", nil, nil)
	descSockRecv    = prometheus.NewDesc("orchard_socket_received_total", "Packets each AF_PACKET fanout socket received.", []string{"socket"}, nil)
	descSockDrop    = prometheus.NewDesc("orchard_socket_dropped_total", "Packets each AF_PACKET fanout socket dropped.", []string{"socket"}, nil)
	descLoss        = prometheus.NewDesc("orchard_capture_loss_ratio", "Share of the traffic the capture lost: the larger of the packets the kernel and the interface dropped over those received, and the bytes the endpoints acknowledged that the capture never saw (SPAN loss, as of the last report).", nil, nil)
	descLastPacket  = prometheus.NewDesc("orchard_last_packet_age_seconds", "Seconds since the packet count last grew (since the start before the first packet).", nil, nil)
	descFlows       = prometheus.NewDesc("orchard_flows_total", "Flows seen.", nil, nil)
	descFlowsOpen   = prometheus.NewDesc("orchard_flows_open", "Flows in the flow table now.", nil, nil)
	descEvicted     = prometheus.NewDesc("orchard_flows_evicted_total", "Flows evicted because the flow table was full (--max-flows).", nil, nil)
	descUndecodable = prometheus.NewDesc("orchard_packets_undecodable_total", "Packets that did not decode.", nil, nil)
	descFragDrop    = prometheus.NewDesc("orchard_fragments_dropped_total", "IP datagrams whose fragments never completed or passed the limits.", nil, nil)
	descDenied      = prometheus.NewDesc("orchard_streams_unbuffered_total", "Streams not buffered because the buffer budget was spent.", nil, nil)
	descDNS         = prometheus.NewDesc("orchard_dns_responses_total", "DNS responses seen.", nil, nil)
	descMalformed   = prometheus.NewDesc("orchard_malformed_total", "Application messages the dissectors rejected.", nil, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descBytes, descReceived, descDropped, descFreezes, descSockRecv, descSockDrop, descLoss, descLastPacket, descFlows, descFlowsOpen, descEvicted, descUndecodable, descFragDrop, descDenied, descDNS, descMalformed} {
		ch <- d
	}
	for _, d := range outputDescs {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	m := (*Metrics)(c)
	m.mu.Lock()
	st, vis, last, started, now := m.st, m.vis, m.lastPacket, m.started, m.now()
	m.mu.Unlock()
	s := &st.Stats
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(descPackets, s.Packets)
	counter(descBytes, s.Bytes)
	counter(descFlows, s.Flows)
	gauge(descFlowsOpen, float64(s.OpenFlows))
	counter(descEvicted, s.FlowsEvicted)
	counter(descUndecodable, s.Undecodable)
	counter(descFragDrop, s.FragDropped)
	counter(descDenied, s.BufferDenied)
	counter(descDNS, s.DNSResponses)
	counter(descMalformed, s.Malformed)
	if last.IsZero() {
		last = started
	}
	gauge(descLastPacket, now.Sub(last).Seconds())
	collectOutputs(ch, st.Outputs)
	if l := st.Live; l != nil {
		counter(descReceived, l.Received)
		counter(descDropped, l.DroppedKernel, "kernel")
		counter(descDropped, l.DroppedIface, "interface")
		counter(descFreezes, l.QueueFreezes)
		for i, so := range l.Sockets {
			counter(descSockRecv, so.Received, strconv.Itoa(i))
			counter(descSockDrop, so.Dropped, strconv.Itoa(i))
		}
		gauge(descLoss, CaptureLoss(l, vis))
	}
}
