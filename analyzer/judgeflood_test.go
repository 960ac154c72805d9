package analyzer

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/flow"
	"orchard/internal/stress"
)

// flowCollector keeps a copy of every flow a flow engine ends.
type flowCollector struct{ flows []flow.Flow }

func (c *flowCollector) FlowEnded(f *flow.Flow, _ bool) {
	g := *f
	g.App, g.Kept, g.Next = nil, nil, nil
	c.flows = append(c.flows, g)
}

func (c *flowCollector) Answer(*flow.Flow, flow.Answer) {}

// endedFlows returns the flows of a stress input as the flow engine ends
// them.
func endedFlows(tb testing.TB, kind string, s stress.Spec) []flow.Flow {
	frames, ts := stressFrames(tb, kind, s)
	var c flowCollector
	e := flow.NewEngine(flow.Limits{MaxFlows: 4096}, &c)
	for i, f := range frames {
		e.Frame(layers.LinkTypeEthernet, f, ts[i], len(f), "", 0)
	}
	e.Table.Flush()
	return c.flows
}

// BenchmarkJudgeSYNFlood times the judge alone on the flows of a SYN
// flood (BenchmarkSYNFlood without the flow engine): each an unanswered
// SYN to Apple from one of 65,536 clients to one of 4,096 servers. In
// "flood", past the first 65,536 flows each is a new finding key past the
// cap (every 400,000th repeats one); in "repeat", 8,192 flows are judged
// again and again, each a repeat of a kept finding.
func BenchmarkJudgeSYNFlood(b *testing.B) {
	flows := endedFlows(b, "syn", stress.Spec{N: 400_000})
	for _, c := range []struct {
		name string
		n    int
	}{{"flood", len(flows)}, {"repeat", 8192}} {
		b.Run(c.name, func(b *testing.B) {
			e, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			j, fs := e.judge, flows[:c.n]
			b.ReportAllocs()
			cpu := startCPU(b)
			for i := 0; i < b.N; i++ {
				j.FlowEnded(&fs[i%len(fs)], true)
			}
			cpu.report(b)
		})
	}
}
