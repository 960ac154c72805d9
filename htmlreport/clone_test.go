package htmlreport_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"orchard/analyzer"
	"orchard/htmlreport"
	"orchard/internal/filltest"
	"orchard/internal/sharedtest"
)

// roundTrip is what the page used to work on: the report marshalled and
// read back.
func roundTrip(r *analyzer.Report) (*analyzer.Report, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	out := new(analyzer.Report)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkClone holds CloneReport to the round trip: the same value (nil and
// empty slices told apart), or the same error.
func checkClone(t testing.TB, r *analyzer.Report) {
	t.Helper()
	want, werr := roundTrip(r)
	got, gerr := htmlreport.CloneReport(r)
	if werr != nil || gerr != nil {
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Fatalf("clone error %v, round trip error %v", gerr, werr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("clone differs from the round trip at %s", firstDiff(reflect.ValueOf(got), reflect.ValueOf(want), "report"))
	}
}

// firstDiff names the first place where a and b differ, for the message.
func firstDiff(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return fmt.Sprintf("%s: nil %v, want nil %v", path, a.IsNil(), b.IsNil())
		}
		return firstDiff(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Sprintf("%s: nil %v len %d, want nil %v len %d", path, a.IsNil(), a.Len(), b.IsNil(), b.Len())
		}
		for i := range a.Len() {
			if d := firstDiff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := firstDiff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %#v, want %#v", path, a.Interface(), b.Interface())
		}
	}
	return ""
}

// walk calls do on every settable value under v (v included), depth first.
func walk(v reflect.Value, do func(reflect.Value)) {
	do(v)
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem(), do)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walk(v.Index(i), do)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i), do)
			}
		}
	}
}

// invalid is appended to every string: a stray continuation byte, a
// surrogate encoded in UTF-8, an overlong form, a valid U+FFFD, a
// sequence cut short at the end.
const invalid = "\x80a\xed\xa0\x80b\xc0\xafc\uFFFDd\xff\xe2\x82"

// filled is a report with every exported field set, and invalid UTF-8 in
// every string.
func filled() *analyzer.Report {
	r := new(analyzer.Report)
	filltest.Fill(r)
	walk(reflect.ValueOf(r), func(v reflect.Value) {
		if v.Kind() == reflect.String {
			v.SetString(v.String() + invalid)
		}
	})
	return r
}

func TestCloneReport(t *testing.T) {
	emptied := filled()
	walk(reflect.ValueOf(emptied), func(v reflect.Value) {
		if v.Kind() == reflect.Slice {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
	})
	nilled := filled()
	walk(reflect.ValueOf(nilled), func(v reflect.Value) {
		if v.Kind() == reflect.Slice && v.CanSet() {
			v.SetZero()
		}
	})
	holes := filled()
	holes.Findings[0], holes.Hosts[1], holes.Devices[0] = nil, nil, nil
	holes.Capture.Live = nil
	nan := filled()
	nan.Capture.Duration = math.NaN()
	inf := filled()
	inf.Capture.Visibility.Loss = math.Inf(-1)
	both := filled()
	both.Capture.Duration, both.Capture.Visibility.Loss = math.Inf(1), math.NaN()
	negZero := filled()
	negZero.Capture.Duration = math.Copysign(0, -1)
	for name, r := range map[string]*analyzer.Report{
		"every field":     filled(),
		"empty slices":    emptied,
		"nil slices":      nilled,
		"nil entries":     holes,
		"zero":            new(analyzer.Report),
		"NaN":             nan,
		"infinity":        inf,
		"two bad numbers": both,
		"negative zero":   negZero,
		"demo":            demoReport(t),
	} {
		t.Run(name, func(t *testing.T) { checkClone(t, r) })
	}
}

// TestCloneReportIsACopy: the page's copy shares nothing it could change
// with the report.
func TestCloneReportIsACopy(t *testing.T) {
	r := filled()
	c, err := htmlreport.CloneReport(r)
	if err != nil {
		t.Fatal(err)
	}
	c.Findings[0].Host = "changed"
	c.Services[0].Hosts[0] = "changed"
	c.Hosts[0].Ports[0] = "changed"
	c.Devices[0].Processes[0] = "changed"
	c.Capture.Files[0] = "changed"
	c.Capture.Live.Sockets[0].Received = 1 << 40
	want := filled()
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("changing the copy changed the report at %s", firstDiff(reflect.ValueOf(r), reflect.ValueOf(want), "report"))
	}
}

func TestCloneReportSharedCaptures(t *testing.T) {
	for _, p := range sharedtest.Pcaps(t) {
		t.Run(filepath.Base(p), func(t *testing.T) { checkClone(t, analyse(t, p)) })
	}
}

// shaped builds a report from fuzz input: each slice nil, empty or of one
// or two entries, each pointer nil or set, each string, number and flag
// taken from the input, so the clone meets any shape and any bytes.
func shaped(data []byte) *analyzer.Report {
	next := func(n int) []byte {
		n = min(n, len(data))
		b := data[:n]
		data = data[n:]
		return b
	}
	byteOf := func() int {
		if b := next(1); len(b) == 1 {
			return int(b[0])
		}
		return 0
	}
	var shape func(v reflect.Value)
	shape = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(string(next(byteOf() % 24)))
		case reflect.Bool:
			v.SetBool(byteOf()&1 == 1)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(int64(int8(byteOf())))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(byteOf()))
		case reflect.Float64:
			var b [8]byte
			copy(b[:], next(8))
			v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(b[:])))
		case reflect.Pointer:
			if byteOf()%3 != 0 {
				v.Set(reflect.New(v.Type().Elem()))
				shape(v.Elem())
			}
		case reflect.Slice:
			if n := byteOf() % 4; n > 0 {
				s := reflect.MakeSlice(v.Type(), n-1, n-1)
				for i := range n - 1 {
					shape(s.Index(i))
				}
				v.Set(s)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					shape(v.Field(i))
				}
			}
		}
	}
	r := new(analyzer.Report)
	shape(reflect.ValueOf(r).Elem())
	return r
}

func FuzzCloneReport(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x07\x05abc\xffde\x02\x03\x09\xed\xa0\x80xyz\xc3"))
	seed := make([]byte, 512)
	for i := range seed {
		seed[i] = byte(i*7 + 3)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkClone(t, shaped(data))
	})
}
