package analyzer

import (
	"orchard/capture"
	"orchard/catalog"
	"orchard/flow"
	"orchard/shapes"
)

// Config tunes an Engine. The zero value plus a catalog is a working setup.
type Config struct {
	// Catalog judges flows; nil means the embedded default catalog.
	Catalog *catalog.Catalog
	// MaxFlows caps the flow table (default 65536: 512 bytes a flow, plus
	// the dissector state under StateBudget); the oldest flow is evicted,
	// and counted, when it is full.
	MaxFlows int
	// MaxDNS is how many DNS answers the cache remembers, the last ones
	// (default 131072).
	MaxDNS int
	// Timeouts are the flow table's idle timeouts by packet time.
	Timeouts flow.Timeouts
	// ClientBuffer and ServerBuffer cap the bytes kept per direction for
	// the dissectors (defaults 16 KiB and 64 KiB).
	ClientBuffer, ServerBuffer int
	// BufferBudget caps the bytes held in all stream buffers together
	// (default 64 MiB): beyond it new bytes are not kept, and the streams
	// that were refused are counted in Stats.BufferDenied.
	BufferBudget int
	// StateBudget caps the memory of the dissectors' per-flow state
	// together (facts, QUIC assemblers, TLS parsers, ClientHellos,
	// certificates; default 64 MiB): beyond it flows are not dissected,
	// and the refusals are counted in Stats.StateDenied.
	StateBudget int
	// AllHosts reports findings for non-Apple endpoints too.
	AllHosts bool
	// Sink receives events as they are decided; may be nil. With several
	// workers it is still called from one goroutine at a time, in the
	// order a single-threaded engine would call it.
	Sink Sink
	// Workers is the number of analysis goroutines: 0 or 1 analyses in
	// the caller's goroutine; more shard flows over that many workers
	// (see Parallel), with identical results.
	Workers int
	// ServerShapes is the baseline of Apple's server shapes that TLS
	// answers are compared with (package shapes); nil means the
	// embedded one. LearnShapes, when set, collects the shapes seen.
	ServerShapes, LearnShapes *shapes.Baseline
}

// DefaultMaxFlows is the flow table's cap unless Config.MaxFlows says
// otherwise: with the other caps' worth, it keeps a run under 300 MB.
const DefaultMaxFlows = 65536

// Sink receives the engine's events as they happen, one call at a time.
// An event, and every slice and string in it, is valid only during the
// call: the engine rewrites the memory behind them for the next event
// (the DNS event's answers and formatted strings, for one). A Sink that
// keeps anything of an event past the call must copy it (Clone).
type Sink interface {
	Flow(*FlowEvent)
	DNS(*DNSEvent)
	Finding(*Finding)
}

// frameMeta is what a capture file says of a frame beyond its bytes.
type frameMeta struct {
	// proc and pid name the frame's process when the file carries it
	// rather than the frame (tcpdump -k pcapng).
	proc string
	pid  int32
	// chunk holds the frame's bytes, at chunkOff, when the capture reader
	// read it into one: a multi-worker reader then hands the workers the
	// frame without copying it.
	chunk    *capture.Chunk
	chunkOff int
}

// withDefaults fills in cfg's unset limits.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Catalog == nil {
		c, err := catalog.Default()
		if err != nil {
			return cfg, err
		}
		cfg.Catalog = c
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	if cfg.MaxDNS <= 0 {
		cfg.MaxDNS = 131072
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = 16 << 10
	}
	if cfg.ServerBuffer <= 0 {
		cfg.ServerBuffer = 64 << 10
	}
	if cfg.BufferBudget <= 0 {
		cfg.BufferBudget = 64 << 20
	}
	if cfg.StateBudget <= 0 {
		cfg.StateBudget = 64 << 20
	}
	cfg.ClientBuffer = min(cfg.ClientBuffer, 1<<30)
	cfg.ServerBuffer = min(cfg.ServerBuffer, 1<<30)
	return cfg, nil
}

// flowLimits are the flow engine's share of cfg.
func (cfg Config) flowLimits() flow.Limits {
	return flow.Limits{MaxFlows: cfg.MaxFlows, Timeouts: cfg.Timeouts, ClientBuffer: cfg.ClientBuffer, ServerBuffer: cfg.ServerBuffer,
		BufferBudget: cfg.BufferBudget, StateBudget: cfg.StateBudget}
}

// Stats counts what the engine saw (see flow.Stats): the flow engines'
// counters, summed over the workers, and the capture's span.
type Stats = flow.Stats
