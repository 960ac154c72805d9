package eventjson

import "strconv"

// Object appends the fields of a JSON object to B, with the commas
// between them, as encoding/json writes them (the Omit methods leave out
// zero values as omitempty does): compact, as Marshal writes it, or
// indented by two spaces a level, as an Encoder after SetIndent("", "  ")
// writes it (NewIndented). Nested objects are written in place with Begin
// and End. It never allocates beyond growing B.
type Object struct {
	B     []byte
	first bool
	// ind is 0 for compact output, else 1 + the indentation of a field's
	// line: the separator before a field is sep[:1+ind], or sep[1:1+ind]
	// before the first.
	ind int
}

// NewObject starts a compact object after b.
func NewObject(b []byte) Object { return Object{B: append(b, '{'), first: true} }

// NewIndented starts an indented object after b, the value of a field or
// an array element at nesting level level (0: the document itself): its
// fields are indented by level+1 steps, its closing brace by level. The
// separators it slices from sep hold 28 levels, with a nested object or
// array below the deepest: more is a bug in the caller, and panics.
func NewIndented(b []byte, level int) Object {
	return Object{B: append(b, '{'), first: true, ind: 1 + indentStep*(level+1)}
}

// indentStep is the indentation of a nesting level, in spaces.
const indentStep = 2

// sep is what goes before a field or an element: a comma (compact), or a
// comma, a line break and the indentation (indented); the first field of
// an object has no comma.
const sep = ",\n                                                                "

// Close ends the object begun by NewObject or NewIndented and returns the
// bytes.
func (o *Object) Close() []byte {
	o.closeBrace()
	return o.B
}

// closeBrace ends the innermost object: indented, a line break before the
// brace unless it is empty.
func (o *Object) closeBrace() {
	if o.ind > 0 {
		o.ind -= indentStep
		if !o.first {
			o.B = append(o.B, sep[1:o.ind+1]...)
		}
	}
	o.B = append(o.B, '}')
}

// Begin starts the object value of field k; End ends it.
func (o *Object) Begin(k string) {
	o.Key(k)
	o.B = append(o.B, '{')
	o.first = true
	if o.ind > 0 {
		o.ind += indentStep
	}
}

// End ends the object started by Begin.
func (o *Object) End() {
	o.closeBrace()
	o.first = false
}

// Key writes the name of the next field (k must need no escaping).
func (o *Object) Key(k string) {
	if o.ind > 0 {
		o.indentedKey(k)
	} else {
		o.compactKey(k)
	}
}

// compactKey is Key for compact output, small enough to inline: the
// methods below choose between it and indentedKey themselves, so that the
// compact output, which the event streams write, makes no call per field.
func (o *Object) compactKey(k string) {
	if o.first {
		o.first = false
		o.B = append(o.B, '"')
	} else {
		o.B = append(o.B, ',', '"')
	}
	o.B = append(o.B, k...)
	o.B = append(o.B, '"', ':')
}

// indentedKey is Key for indented output: the field on a line of its own.
func (o *Object) indentedKey(k string) {
	lo := 0
	if o.first {
		lo, o.first = 1, false
	}
	o.B = append(o.B, sep[lo:1+o.ind]...)
	o.B = append(o.B, '"')
	o.B = append(o.B, k...)
	o.B = append(o.B, '"', ':', ' ')
}

// Str writes a string field.
func (o *Object) Str(k, v string) {
	if o.ind > 0 {
		o.indentedKey(k)
	} else {
		o.compactKey(k)
	}
	o.B = AppendString(o.B, v)
}

// StrOmit writes a string field unless it is empty.
func (o *Object) StrOmit(k, v string) {
	if v != "" {
		o.Str(k, v)
	}
}

// Uint writes an unsigned integer field.
func (o *Object) Uint(k string, v uint64) {
	if o.ind > 0 {
		o.indentedKey(k)
	} else {
		o.compactKey(k)
	}
	o.B = strconv.AppendUint(o.B, v, 10)
}

// UintOmit writes an unsigned integer field unless it is 0.
func (o *Object) UintOmit(k string, v uint64) {
	if v != 0 {
		o.Uint(k, v)
	}
}

// Int writes an integer field.
func (o *Object) Int(k string, v int64) {
	if o.ind > 0 {
		o.indentedKey(k)
	} else {
		o.compactKey(k)
	}
	o.B = strconv.AppendInt(o.B, v, 10)
}

// IntOmit writes an integer field unless it is 0.
func (o *Object) IntOmit(k string, v int64) {
	if v != 0 {
		o.Int(k, v)
	}
}

// Bool writes a boolean field.
func (o *Object) Bool(k string, v bool) {
	if o.ind > 0 {
		o.indentedKey(k)
	} else {
		o.compactKey(k)
	}
	o.B = strconv.AppendBool(o.B, v)
}

// BoolOmit writes a boolean field unless it is false.
func (o *Object) BoolOmit(k string, v bool) {
	if v {
		o.Bool(k, v)
	}
}

// Strs writes a string array field (null when v is nil).
func (o *Object) Strs(k string, v []string) {
	if o.ind > 0 {
		o.indentedKey(k)
	} else {
		o.compactKey(k)
	}
	if v == nil {
		o.B = append(o.B, "null"...)
		return
	}
	o.B = append(o.B, '[')
	end := 1
	if o.ind > 0 {
		end = 1 + o.ind + indentStep
	}
	for i, s := range v {
		lo := 0
		if i == 0 {
			lo = 1
		}
		o.B = append(o.B, sep[lo:end]...)
		o.B = AppendString(o.B, s)
	}
	if o.ind > 0 && len(v) > 0 {
		o.B = append(o.B, sep[1:o.ind+1]...)
	}
	o.B = append(o.B, ']')
}

// StrsOmit writes a string array field unless it is empty.
func (o *Object) StrsOmit(k string, v []string) {
	if len(v) > 0 {
		o.Strs(k, v)
	}
}
