package eventjson

import "strconv"

// Object appends the fields of a JSON object to B, with the commas
// between them, as encoding/json writes them (the Omit methods leave out
// zero values as omitempty does). Nested objects are written in place
// with Begin and End. It never allocates beyond growing B.
type Object struct {
	B     []byte
	first bool
}

// NewObject starts an object after b.
func NewObject(b []byte) Object { return Object{B: append(b, '{'), first: true} }

// Close ends the object begun by NewObject and returns the bytes.
func (o *Object) Close() []byte { return append(o.B, '}') }

// Begin starts the object value of field k; End ends it.
func (o *Object) Begin(k string) {
	o.Key(k)
	o.B = append(o.B, '{')
	o.first = true
}

// End ends the object started by Begin.
func (o *Object) End() {
	o.B = append(o.B, '}')
	o.first = false
}

// Key writes the name of the next field (k must need no escaping).
func (o *Object) Key(k string) {
	if o.first {
		o.first = false
		o.B = append(o.B, '"')
	} else {
		o.B = append(o.B, ',', '"')
	}
	o.B = append(o.B, k...)
	o.B = append(o.B, '"', ':')
}

// Str writes a string field.
func (o *Object) Str(k, v string) {
	o.Key(k)
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
	o.Key(k)
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
	o.Key(k)
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
	o.Key(k)
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
	o.Key(k)
	if v == nil {
		o.B = append(o.B, "null"...)
		return
	}
	o.B = append(o.B, '[')
	for i, s := range v {
		if i > 0 {
			o.B = append(o.B, ',')
		}
		o.B = AppendString(o.B, s)
	}
	o.B = append(o.B, ']')
}

// StrsOmit writes a string array field unless it is empty.
func (o *Object) StrsOmit(k string, v []string) {
	if len(v) > 0 {
		o.Strs(k, v)
	}
}
