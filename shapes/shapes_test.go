package shapes

import (
	"bytes"
	"strings"
	"testing"

	"orchard/dissect"
)

const testShapes = "# test\n" +
	"gdmf.apple.com\t13:1301:001d:002b-0033:-\t52,4742,281,69\t3\tlab\n" +
	"gsa.apple.com\t12:c02f:-:0000-ff01-000b-0010:http/1.1\t3326,333,4\t1\tlab\n"

func TestBaselineRoundTrip(t *testing.T) {
	b, err := Parse(strings.NewReader(testShapes), "test.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := b.WriteTSV(&out); err != nil {
		t.Fatal(err)
	}
	b2, err := Parse(bytes.NewReader(out.Bytes()), "out.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out2 bytes.Buffer
	_ = b2.WriteTSV(&out2)
	if out.String() != out2.String() || !strings.Contains(out.String(), "gdmf.apple.com\t13:1301:001d:002b-0033:-\t52,4742,281,69\t3\tlab") {
		t.Errorf("round trip:\n%s\n%s", out.String(), out2.String())
	}
	if Default().Hosts() == 0 {
		t.Error("embedded baseline is empty")
	}
}

func TestBaselineErrors(t *testing.T) {
	for _, in := range []string{
		"a\tb\n",
		"h\tnot-a-shape\t-\t1\tx\n",
		"h\t13:1301:001d:002b:-\t1,2,3,4,5\t1\tx\n",
		"h\t13:1301:001d:002b:-\t99999\t1\tx\n",
		"h\t13:1301:001d:002b:-\t-\t0\tx\n",
	} {
		if _, err := Parse(strings.NewReader("# c\n"+in), "bad.tsv"); err == nil || !strings.Contains(err.Error(), "bad.tsv:2:") {
			t.Errorf("%q: error %v, want one naming bad.tsv:2", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(testShapes)
	f.Add(defaultShapesTSV)
	f.Add("h\t13:1301:001d:002b:-\t1,2\t3\tx\r\n#\n")
	f.Fuzz(func(t *testing.T, in string) {
		b, err := Parse(strings.NewReader(in), "fuzz.tsv")
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := b.WriteTSV(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(&out, "out.tsv"); err != nil {
			t.Fatalf("written baseline does not parse: %v\n%s", err, out.String())
		}
	})
}

func TestOf(t *testing.T) {
	for _, c := range []struct {
		sh   *dissect.ServerHello
		want string
	}{
		{nil, ""},
		{&dissect.ServerHello{Version: 0x0304, CipherSuite: 0x1301, Group: 0x001d, Extensions: []uint16{0x002b, 0x0033}}, "13:1301:001d:002b-0033:-"},
		{&dissect.ServerHello{Version: 0x0303, CipherSuite: 0xc02f, Extensions: []uint16{0xff01, 0x0010}, ALPN: "h2"}, "12:c02f:-:ff01-0010:h2"},
		{&dissect.ServerHello{Version: 0x0200, CipherSuite: 0x0005, ALPN: "a b"}, "xx:0005:-:-:-"},
	} {
		if got := Of(c.sh); got != c.want {
			t.Errorf("Of(%+v) = %q, want %q", c.sh, got, c.want)
		}
	}
}

// TestMerge checks that merging two baselines gives what reading both
// files as one does, flow counts added, and that a host only the merged
// baseline knows is then known.
func TestMerge(t *testing.T) {
	const other = "gdmf.apple.com\t13:1301:001d:002b-0033:-\t52,4742,281,69\t2\tsite\n" +
		"gdmf.apple.com\t13:1302:001d:002b-0033:-\t52,4742,281,85\t1\tsite\n" +
		"courier.push.apple.com\t12:c030:-:0000-ff01:-\t-\t4\t-\n"
	parse := func(s, name string) *Baseline {
		t.Helper()
		b, err := Parse(strings.NewReader(s), name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tsv := func(b *Baseline) string {
		var out bytes.Buffer
		if err := b.WriteTSV(&out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, c := range []struct{ name, a, b string }{
		{"disjoint and shared rows", testShapes, other},
		{"same file twice", testShapes, testShapes},
		{"into empty", "", other},
		{"empty into", other, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := parse(c.a, "a.tsv")
			m.Merge(parse(c.b, "b.tsv"))
			want := parse(c.a+c.b, "ab.tsv")
			if got, w := tsv(m), tsv(want); got != w {
				t.Errorf("merged:\n%s\nwant (both files read as one):\n%s", got, w)
			}
			if m.Hosts() != want.Hosts() {
				t.Errorf("%d hosts, want %d", m.Hosts(), want.Hosts())
			}
		})
	}
	b := parse(testShapes, "a.tsv")
	if b.Check("courier.push.apple.com", "12:c030:-:0000-ff01:-", nil).Known {
		t.Fatal("courier known before the merge")
	}
	b.Merge(parse(other, "b.tsv"))
	if r := b.Check("courier.push.apple.com", "12:c030:-:0000-ff01:-", nil); !r.Known || !r.ShapeOK {
		t.Errorf("after the merge: %+v", r)
	}
	fl := Flight{Sizes: [MaxFlight]uint16{52, 4742, 281, 85}, N: 4}
	if r := b.Check("gdmf.apple.com", "13:1302:001d:002b-0033:-", &fl); !r.ShapeOK || !r.FlightOK {
		t.Errorf("gdmf's merged shape and flight: %+v", r)
	}
}
