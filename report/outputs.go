package report

// OutputStats counts the records one event output (a Kafka topic) was
// given and what became of them, for the report.
type OutputStats struct {
	Output    string `json:"output"` // e.g. "kafka"
	Target    string `json:"target"` // e.g. the topic
	Sent      uint64 `json:"sent"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`  // rejected, timed out, or unsent at the flush deadline
	Dropped   uint64 `json:"dropped"` // not queued: the output's buffer was full
}
