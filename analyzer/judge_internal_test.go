package analyzer

import "testing"

func TestMACString(t *testing.T) {
	for m, want := range map[[6]byte]string{
		{}:                                   "00:00:00:00:00:00",
		{0x02, 0xab, 0x10, 0xff, 0x0c, 0x9e}: "02:ab:10:ff:0c:9e",
	} {
		if got := macString(m); got != want {
			t.Errorf("macString(%x) = %q, want %q", m, got, want)
		}
	}
}
