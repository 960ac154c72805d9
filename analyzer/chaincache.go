package analyzer

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"time"
)

// maxChainCache bounds the verified chains remembered per engine.
const maxChainCache = 4096

// chainCache remembers chain verdicts per engine: a server sends the same
// chain on every connection, and verifying its signatures costs far more
// than the rest of the flow's analysis. A verdict is reused for the same
// certificates and host at any time inside the validity window of every
// certificate sent, where the time cannot change it; an expired verdict
// at any time past the leaf's expiry (or before its start). The key is a
// SHA-256 of the chain, so a crafted chain cannot collide with a cached
// genuine one.
type chainCache struct {
	m map[[sha256.Size]byte]*chainVerdict
}

type chainVerdict struct {
	res       chainResult
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

// verify is t.verify through the cache.
func (c *chainCache) verify(t *trustStore, ders [][]byte, host string, at time.Time) (chainResult, []*x509.Certificate, error) {
	k := chainKey(ders, host, t.days.epoch(at))
	if v, ok := c.m[k]; ok && !at.Before(v.notBefore) && !at.After(v.notAfter) {
		return v.res, v.certs, v.err
	}
	res, certs, err := t.verify(ders, host, at)
	if len(certs) == 0 {
		return res, certs, err
	}
	if res == chainExpired || res == chainNotYetValid {
		// Cached only when the leaf itself is out of date, as it then is
		// on every chain at every time on the same side of its window.
		leaf := certs[0]
		v := &chainVerdict{res: res, certs: certs, err: err}
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
	v := &chainVerdict{res: res, certs: certs, err: err, notBefore: certs[0].NotBefore, notAfter: certs[0].NotAfter}
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

func (c *chainCache) put(k [sha256.Size]byte, v *chainVerdict) {
	if c.m == nil || len(c.m) >= maxChainCache {
		c.m = make(map[[sha256.Size]byte]*chainVerdict)
	}
	c.m[k] = v
}
