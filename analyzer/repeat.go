package analyzer

// FindingRepeater is a Sink that also hears of every later occurrence of a
// finding it was given: the Sink's Finding is called once per finding
// (when it is first decided); a Sink that implements FindingRepeater gets
// FindingRepeated each time the same finding recurs, with its count and
// last time updated. The finding is the engine's own: copy what you keep.
type FindingRepeater interface {
	FindingRepeated(*Finding)
}
