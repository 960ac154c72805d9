package dissect

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// NTP association modes (RFC 5905 figure 10).
const (
	NTPModeReserved         = 0
	NTPModeSymmetricActive  = 1
	NTPModeSymmetricPassive = 2
	NTPModeClient           = 3
	NTPModeServer           = 4
	NTPModeBroadcast        = 5
	NTPModeControl          = 6
	NTPModePrivate          = 7
)

// ntpHeaderLen is the size of the fixed NTP header without extensions.
const ntpHeaderLen = 48

// ErrNTPVersion reports a version number outside 1-4, which is how non-NTP
// traffic on port 123 usually shows itself.
var ErrNTPVersion = errors.New("dissect: ntp version not 1-4")

// NTPError says which part of an NTP packet was at fault.
type NTPError struct {
	Field string
	Err   error
}

// Error describes the failure with its field.
func (e *NTPError) Error() string { return "ntp " + e.Field + ": " + e.Err.Error() }

// Unwrap returns the underlying sentinel.
func (e *NTPError) Unwrap() error { return e.Err }

// NTP is the decoded fixed header of an NTP packet.
type NTP struct {
	Leap      uint8
	Version   uint8
	Mode      uint8 // 1 sym active, 2 sym passive, 3 client, 4 server, 5 broadcast, 6 control, 7 private
	Stratum   uint8
	Poll      int8
	Precision int8
	RefID     [4]byte
	Transmit  time.Time // zero when the timestamp is 0
	Reference time.Time // zero when the timestamp is 0
}

// ParseNTP decodes an NTP packet. Modes 0-5 need the 48-byte header (any
// extension fields or MAC after it are ignored); for the control and private
// modes 6 and 7 only the first byte is decoded. Timestamps follow the
// RFC 4330 section 3 rule: a seconds value with the top bit set counts from
// 1900 (era 0), one with the top bit clear from 2036-02-07 06:28:16 UTC
// (era 1), so the covered range is 1968 to 2104.
func ParseNTP(b []byte) (NTP, error) {
	var n NTP
	if len(b) < 1 {
		return n, &NTPError{Field: "header", Err: ErrTruncated}
	}
	n.Leap = b[0] >> 6
	n.Version = (b[0] >> 3) & 0x07
	n.Mode = b[0] & 0x07
	if n.Version < 1 || n.Version > 4 {
		return n, &NTPError{Field: "version", Err: ErrNTPVersion}
	}
	if n.Mode == NTPModeControl || n.Mode == NTPModePrivate {
		return n, nil
	}
	if len(b) < ntpHeaderLen {
		return n, &NTPError{Field: "header", Err: ErrTruncated}
	}
	n.Stratum = b[1]
	n.Poll = int8(b[2])
	n.Precision = int8(b[3])
	copy(n.RefID[:], b[12:16])
	n.Reference = ntpTime(binary.BigEndian.Uint64(b[16:]))
	n.Transmit = ntpTime(binary.BigEndian.Uint64(b[40:]))
	return n, nil
}

// Seconds between the NTP epoch (1900-01-01) and the Unix epoch.
const ntpUnixOffset = 2208988800

// ntpTime converts a 64-bit NTP timestamp to UTC time, zero for 0.
func ntpTime(ts uint64) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	secs := int64(ts >> 32)
	if secs&0x80000000 == 0 {
		secs += 1 << 32 // era 1
	}
	nanos := int64((ts & 0xffffffff) * 1_000_000_000 >> 32)
	return time.Unix(secs-ntpUnixOffset, nanos).UTC()
}

// RefIDString renders the reference identifier the way its stratum defines
// it: a kiss code for stratum 0, the reference source for stratum 1 (both
// trimmed of NULs and spaces, "" unless printable ASCII) and the dotted IPv4
// form for stratum 2 and above (for IPv6 servers that is the first four
// bytes of an address hash).
func (n NTP) RefIDString() string {
	if n.Stratum >= 2 {
		return netipv4String(n.RefID)
	}
	return n.refText()
}

// KissCode returns the kiss-o'-death code ("DENY", "RSTR", "RATE", ...) of a
// stratum 0 packet, or "" when the stratum is not 0 or the code is not
// printable ASCII.
func (n NTP) KissCode() string {
	if n.Stratum != 0 || n.Mode == NTPModeControl || n.Mode == NTPModePrivate {
		return ""
	}
	return n.refText()
}

// refText returns the refid as ASCII with trailing NULs and spaces removed,
// or "" when it holds anything but printable ASCII.
func (n NTP) refText() string {
	end := len(n.RefID)
	for end > 0 && (n.RefID[end-1] == 0 || n.RefID[end-1] == ' ') {
		end--
	}
	for _, c := range n.RefID[:end] {
		if c <= 0x20 || c > 0x7e {
			return ""
		}
	}
	return string(n.RefID[:end])
}

// netipv4String writes four bytes in dotted decimal without allocating
// more than the result.
func netipv4String(a [4]byte) string {
	var buf [15]byte
	b := buf[:0]
	for i, c := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(c), 10)
	}
	return string(b)
}

// ModeString names the association mode ("client", "server", ...).
func (n NTP) ModeString() string {
	switch n.Mode {
	case NTPModeSymmetricActive:
		return "symmetric active"
	case NTPModeSymmetricPassive:
		return "symmetric passive"
	case NTPModeClient:
		return "client"
	case NTPModeServer:
		return "server"
	case NTPModeBroadcast:
		return "broadcast"
	case NTPModeControl:
		return "control"
	case NTPModePrivate:
		return "private"
	}
	return "reserved"
}
