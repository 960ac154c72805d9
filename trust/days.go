package trust

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"sort"
	"sync"
	"time"
)

//go:embed anchors/removed.pem
var removedPEM []byte

// removedRoot is a public root that has left Mozilla's store: trusted for
// captures made before until (anchors/README.md).
type removedRoot struct {
	cert  *x509.Certificate
	until time.Time
}

// parseRemoved reads removed.pem: each block's Trusted-Until header
// starts with the date the root stopped being trusted. Blocks without a
// date are skipped.
func parseRemoved(b []byte) []removedRoot {
	var out []removedRoot
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		u := blk.Headers["Trusted-Until"]
		if len(u) < 10 {
			continue
		}
		until, err := time.Parse("2006-01-02", u[:10])
		if err != nil {
			continue
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, removedRoot{cert: c, until: until})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].until.Before(out[j].until) })
	return out
}

// dayPools gives the root pool of a day: the store's roots and those
// removed roots still trusted then. There are as many pools as distinct
// removal dates, plus one; each is built once, when first needed.
type dayPools struct {
	base    *x509.CertPool
	removed []removedRoot // by until, oldest first
	mu      sync.Mutex
	pools   map[int]*x509.CertPool
}

// epoch returns the index of the first removed root still trusted at t:
// the same for every time between two removal dates.
func (d *dayPools) epoch(t time.Time) int {
	return sort.Search(len(d.removed), func(i int) bool { return d.removed[i].until.After(t) })
}

// at returns the pool for time t.
func (d *dayPools) at(t time.Time) *x509.CertPool {
	i := d.epoch(t)
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.pools[i]; p != nil {
		return p
	}
	p := d.base.Clone()
	for _, r := range d.removed[i:] {
		p.AddCert(r.cert)
	}
	if d.pools == nil {
		d.pools = map[int]*x509.CertPool{}
	}
	d.pools[i] = p
	return p
}
