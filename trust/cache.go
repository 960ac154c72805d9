package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"time"
)

// maxCache bounds the verified chains a Cache remembers.
const maxCache = 4096

// Cache remembers chain verdicts (its zero value is empty and ready): a server sends the same
// chain on every connection, and verifying its signatures costs far more
// than the rest of the flow's analysis. A verdict is reused for the same
// certificates and host at any time inside the validity window of every
// certificate sent, where the time cannot change it; an expired verdict
// at any time past the leaf's expiry (or before its start). The key is a
// SHA-256 of the chain, so a crafted chain cannot collide with a cached
// genuine one.
type Cache struct {
	m map[[sha256.Size]byte]*verdict
}

type verdict struct {
	res       Result
	certs     []*x509.Certificate
	err       error
	notBefore time.Time
	notAfter  time.Time
}

func chainKey(ders [][]byte, host string, epoch int) [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	// The roots trusted change with the day: verdicts are kept per epoch.
	binary.BigEndian.PutUint32(n[:], uint32(epoch))
	h.Write(n[:])
	for _, d := range ders {
		binary.BigEndian.PutUint32(n[:], uint32(len(d)))
		h.Write(n[:])
		h.Write(d)
	}
	binary.BigEndian.PutUint32(n[:], uint32(len(host)))
	h.Write(n[:])
	h.Write([]byte(host))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// Verify is t.Verify through the cache. A Cache is not safe for
// concurrent use.
func (c *Cache) Verify(t *Store, ders [][]byte, host string, at time.Time) (Result, []*x509.Certificate, error) {
	k := chainKey(ders, host, t.days.epoch(at))
	if v, ok := c.m[k]; ok && !at.Before(v.notBefore) && !at.After(v.notAfter) {
		return v.res, v.certs, v.err
	}
	res, certs, err := t.Verify(ders, host, at)
	if len(certs) == 0 {
		return res, certs, err
	}
	if res == Expired || res == NotYetValid {
		// Cached only when the leaf itself is out of date, as it then is
		// on every chain at every time on the same side of its window.
		leaf := certs[0]
		v := &verdict{res: res, certs: certs, err: err}
		switch {
		case at.After(leaf.NotAfter):
			v.notBefore, v.notAfter = leaf.NotAfter.Add(time.Nanosecond), time.Unix(1<<62, 0)
		case at.Before(leaf.NotBefore):
			v.notBefore, v.notAfter = time.Unix(-1<<62, 0), leaf.NotBefore.Add(-time.Nanosecond)
		default:
			return res, certs, err
		}
		c.put(k, v)
		return res, certs, err
	}
	v := &verdict{res: res, certs: certs, err: err, notBefore: certs[0].NotBefore, notAfter: certs[0].NotAfter}
	for _, x := range certs[1:] {
		if x.NotBefore.After(v.notBefore) {
			v.notBefore = x.NotBefore
		}
		if x.NotAfter.Before(v.notAfter) {
			v.notAfter = x.NotAfter
		}
	}
	if at.Before(v.notBefore) || at.After(v.notAfter) {
		return res, certs, err // some certificate was outside its validity: time matters
	}
	c.put(k, v)
	return res, certs, err
}

func (c *Cache) put(k [sha256.Size]byte, v *verdict) {
	if c.m == nil || len(c.m) >= maxCache {
		c.m = make(map[[sha256.Size]byte]*verdict)
	}
	c.m[k] = v
}
