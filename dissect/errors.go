package dissect

import "errors"

// ErrTruncated reports that the input ended before a structure it announced
// was complete. Parsers that return it alongside a partial result say so in
// their documentation.
var ErrTruncated = errors.New("dissect: truncated input")
