package lab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// DNS record types and response codes the lab server knows.
const (
	TypeA    = 1
	TypeAAAA = 28

	rcodeOK       = 0
	rcodeFormErr  = 1
	rcodeNXDomain = 3
	rcodeNotImp   = 4
)

// Errors of ParseQuery.
var (
	ErrShort    = errors.New("dns: message too short")
	ErrNotQuery = errors.New("dns: not a standard query")
	ErrName     = errors.New("dns: malformed question name")
)

// Query is the question of a DNS query.
type Query struct {
	ID    uint16
	Flags uint16
	Name  string // lower case, without the final dot
	Type  uint16
	Class uint16
	// End is the offset just after the question in the message.
	End int
}

// maxName is the longest name on the wire (RFC 1035 2.3.4).
const maxName = 255

// ParseQuery reads the header and the single question of a DNS query. It
// accepts what resolvers send (EDNS records after the question are
// ignored) and rejects responses, several questions, compressed names and
// names with characters host names do not have.
func ParseQuery(b []byte) (Query, error) {
	var q Query
	if len(b) < 12 {
		return q, ErrShort
	}
	q.ID = binary.BigEndian.Uint16(b)
	q.Flags = binary.BigEndian.Uint16(b[2:])
	if q.Flags&0x8000 != 0 || (q.Flags>>11)&0xf != 0 || binary.BigEndian.Uint16(b[4:]) != 1 {
		return q, ErrNotQuery
	}
	var sb strings.Builder
	i := 12
	for {
		if i >= len(b) {
			return q, ErrShort
		}
		l := int(b[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 {
			return q, ErrName // compression pointer or reserved label type
		}
		if i+l > len(b) {
			return q, ErrShort
		}
		if sb.Len()+l+1 > maxName {
			return q, ErrName
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		for _, c := range b[i : i+l] {
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			default:
				return q, ErrName // not a host name: the lab has none such
			}
			sb.WriteByte(c)
		}
		i += l
	}
	if i+4 > len(b) {
		return q, ErrShort
	}
	q.Name = sb.String()
	q.Type = binary.BigEndian.Uint16(b[i:])
	q.Class = binary.BigEndian.Uint16(b[i+2:])
	q.End = i + 4
	return q, nil
}

// Zone maps lower-case names, without the final dot, to IPv4 addresses.
type Zone map[string]netip.Addr

// Answer builds the response to query msg: the zone's A record for its
// name, an empty answer for other types of a known name, NXDOMAIN for
// unknown names, FORMERR for what ParseQuery rejects. It returns nil when
// msg cannot be answered at all (too short for an ID, or a response).
func (z Zone) Answer(msg []byte) []byte {
	q, err := ParseQuery(msg)
	if err != nil {
		if len(msg) < 12 || msg[2]&0x80 != 0 {
			return nil
		}
		out := make([]byte, 12)
		copy(out, msg[:2])
		out[2] = 0x80 | msg[2]&0x01 // QR, keep RD
		out[3] = rcodeFormErr
		return out
	}
	out := make([]byte, 0, q.End+16)
	out = append(out, msg[:12]...)
	out = append(out, msg[12:q.End]...)
	flags := uint16(0x8400) | q.Flags&0x0100 // QR, AA, RD copied
	addr, known := z[q.Name]
	switch {
	case q.Class != 1:
		flags |= rcodeNotImp
	case !known:
		flags |= rcodeNXDomain
	}
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[4:], 1) // QDCOUNT
	binary.BigEndian.PutUint16(out[8:], 0) // NSCOUNT
	binary.BigEndian.PutUint16(out[10:], 0)
	if known && q.Class == 1 && q.Type == TypeA && addr.Is4() {
		binary.BigEndian.PutUint16(out[6:], 1)
		a := addr.As4()
		out = append(out, 0xc0, 12, // pointer to the question name
			0, TypeA, 0, 1, // type A, class IN
			0, 0, 0, 60, // TTL 60 s
			0, 4, a[0], a[1], a[2], a[3])
	} else {
		binary.BigEndian.PutUint16(out[6:], 0)
	}
	return out
}

// ServeDNS answers queries on pc from the zone until ctx ends or pc fails.
func ServeDNS(ctx context.Context, pc net.PacketConn, z Zone) error {
	go func() {
		<-ctx.Done()
		_ = pc.Close()
	}()
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("lab dns: %w", err)
		}
		if out := z.Answer(buf[:n]); out != nil {
			if _, err := pc.WriteTo(out, from); err != nil && ctx.Err() == nil {
				return fmt.Errorf("lab dns: answer %s: %w", from, err)
			}
		}
	}
}

// Resolver returns a pure-Go resolver that asks the lab DNS server at
// addr (host:port) and nothing else.
func Resolver(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			if strings.HasPrefix(network, "tcp") {
				return d.DialContext(ctx, "tcp", addr)
			}
			return d.DialContext(ctx, "udp", addr)
		},
	}
}
