package analyzer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"orchard/decode"
	"orchard/dissect"
	"orchard/flow"
	"orchard/trust"
)

// The judge's rules, each fed literal flows: what a rule raises (or does
// not) is decided by the two halves and the dissectors' facts alone.

// r0 is the literal flows' start, 2026-11-02T08:15:00Z.
var r0 = time.Date(2026, 11, 2, 8, 15, 0, 0, time.UTC).UnixNano()

const ms = int64(time.Millisecond)

var (
	ruleClient = netip.MustParseAddr("10.20.30.41")
	ruleRouter = netip.MustParseAddr("10.20.0.1")
	ruleDNS    = netip.MustParseAddr("10.20.0.53")
	ruleProxy  = netip.MustParseAddr("10.20.0.8")
	ruleApple  = netip.MustParseAddr("17.32.194.99")
)

// tcpFlow is a TCP flow from the device to an Apple server on port,
// started at r0, that nobody answered yet.
func tcpFlow(port uint16) *flow.Flow {
	return &flow.Flow{Proto: decode.ProtoTCP, Client: ruleClient, Server: ruleApple, CPort: 50000, SPort: port,
		First: r0, Last: r0, SynTime: r0, FirstRST: -1, App: &flow.Facts{},
		Orig: flow.Endpoint{Packets: 1, Hist: flow.HSYN}}
}

// handshake completes f's handshake after rtt, both sides' packets
// arriving with TTL 52 (the server's) and 64 (the device's).
func handshake(f *flow.Flow, rtt int64) *flow.Flow {
	f.SynAckTime = f.SynTime + rtt
	f.Orig.Hist |= flow.HACK | flow.HProgress
	f.Resp.Hist |= flow.HSYNACK | flow.HACK
	f.Orig.Packets, f.Resp.Packets = 3, 2
	f.Orig.LastTTL, f.Orig.TTLSet = 64, true
	f.Resp.FirstTTL, f.Resp.LastTTL, f.Resp.TTLSet = 52, 52, true
	f.Last = f.SynAckTime + 100*ms
	return f
}

// data has each side send payload.
func data(f *flow.Flow, client, server uint64) *flow.Flow {
	f.Orig.Bytes, f.Resp.Bytes = client, server
	if client > 0 {
		f.Orig.Hist |= flow.HData
	}
	if server > 0 {
		f.Resp.Hist |= flow.HData
	}
	return f
}

// reset has dir send the first RST at ts with the given TTL, 50 ms after
// its peer's last packet.
func reset(f *flow.Flow, dir int, ts int64, ttl uint8) *flow.Flow {
	f.FirstRST, f.RSTTime, f.RSTTTL, f.RSTGap = dir, ts, ttl, 50*ms
	f.Side(dir).Hist |= flow.HRST
	f.Last = max(f.Last, ts)
	return f
}

// udpFlow is a UDP exchange from the device to server:port.
func udpFlow(server netip.Addr, port uint16, sent, answered uint64) *flow.Flow {
	return &flow.Flow{Proto: decode.ProtoUDP, Client: ruleClient, Server: server, CPort: 50001, SPort: port,
		First: r0, Last: r0 + 4e9, FirstRST: -1, App: &flow.Facts{},
		Orig: flow.Endpoint{Packets: sent}, Resp: flow.Endpoint{Packets: answered}}
}

// ruleCase is one literal flow and what the rules must make of it.
type ruleCase struct {
	name string
	f    *flow.Flow
	host string // the flow's host; default albert.apple.com
	port uint16 // the port the host was reached on, when not the flow's (a CONNECT's target)
	want string // the finding, "" for none
	sev  Severity
	ev   string // a part of the evidence
}

// appleAt attributes a flow to host as the engine would, from the catalog.
func appleAt(e *Engine, f *flow.Flow, host string) attribution {
	at := attribution{host: host, source: SourceSNI, port: f.SPort}
	at.entries = e.cat.MatchHost(host)
	at.apple = len(at.entries) > 0
	at.best = bestEntry(at.entries, at.port, protoName(f.Proto))
	return at
}

// checkVerdict compares a verdict with a case, and the verdict with its
// definition: a rule gives only the severities its finding declares, and
// rests on an absent answer only if its finding says it may.
func checkVerdict(t *testing.T, v verdict, want string, sev Severity, ev string) {
	t.Helper()
	if v.name() != want {
		t.Fatalf("raised %q (%s), want %q", v.name(), v.evidence, want)
	}
	if v.def == nil {
		return
	}
	if v.sev != sev || !strings.Contains(v.evidence, ev) {
		t.Errorf("%s %q, want %s containing %q", v.sev, v.evidence, sev, ev)
	}
	if v.sev != v.def.Severity && v.sev != v.def.Also {
		t.Errorf("severity %s is not one %s declares", v.sev, v.def.Name)
	}
	if v.absent && !v.def.Absent {
		t.Errorf("%s rests on an absent answer, which its definition does not allow", v.def.Name)
	}
}

func runRules(t *testing.T, e *Engine, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			host := c.host
			if host == "" {
				host = "albert.apple.com"
			}
			at := appleAt(e, c.f, host)
			if c.port != 0 {
				at.port = c.port
				at.best = bestEntry(at.entries, at.port, protoName(c.f.Proto))
			}
			checkVerdict(t, e.judge.classify(c.f, &at), c.want, c.sev, c.ev)
		})
	}
}

func TestRulesTCP(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	retried := tcpFlow(5223)
	retried.SynRetries, retried.Orig.Packets, retried.Last = 3, 4, r0+7e9
	gaveUp := tcpFlow(443)
	gaveUp.Orig.Hist |= flow.HFIN
	gaveUp.Last = r0 + 2e9
	acked := tcpFlow(443)
	acked.Orig.Hist |= flow.HACK | flow.HProgress // the SYN-ACK fell out of the capture
	icmp := tcpFlow(443)
	icmp.ICMPCount, icmp.ICMPCode, icmp.ICMPFrom = 1, 13, ruleRouter
	icmpLate := handshake(tcpFlow(443), 20*ms)
	icmpLate.ICMPCount, icmpLate.ICMPCode, icmpLate.ICMPFrom = 1, 1, ruleRouter

	cases := []ruleCase{
		{name: "SYN unanswered", f: tcpFlow(443), want: FindSYNUnanswered, sev: SevError, ev: "1 SYN, no reply"},
		{name: "SYNs retried", f: retried, want: FindSYNUnanswered, sev: SevError, ev: "4 SYNs over 7.0s, no reply"},
		{name: "SYN unanswered, client gave up", f: gaveUp, want: FindSYNUnanswered, sev: SevError, ev: "the client gave up after 2.0s"},
		{name: "SYN answered out of sight", f: acked},
		{name: "SYN answered", f: handshake(tcpFlow(443), 20*ms)},
		{name: "SYN rejected", f: reset(tcpFlow(443), flow.DirServer, r0+3*ms, 61), want: FindSYNRejected, sev: SevError, ev: "SYN answered by RST after 3ms (TTL 61)"},
		{name: "ICMP unreachable", f: icmp, want: FindICMPUnreachable, sev: SevError, ev: "ICMP communication administratively prohibited (3/13) from 10.20.0.1 after 1 SYN"},
		{name: "ICMP after the handshake", f: icmpLate},
		{name: "reset injected by TTL", f: reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 250),
			want: FindReset, sev: SevError, ev: "RST from the server side looks injected: TTL 250, the server's packets had TTL 52"},
		{name: "reset by the server", f: reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 52),
			want: FindReset, sev: SevWarn, ev: "connection reset by the server after 200ms, 800 bytes sent, 4000 received"},
		{name: "reset injected by timing", f: func() *flow.Flow {
			f := reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 52)
			f.RSTGap = ms
			return f
		}(), want: FindReset, sev: SevError, ev: "it came 1ms after the client's packet, sooner than the server's round trip of 20ms"},
		{name: "reset injected, the server carried on", f: func() *flow.Flow {
			f := reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 52)
			f.Resp.DataAfterRST = true
			return f
		}(), want: FindReset, sev: SevError, ev: "the server kept sending data after it"},
		{name: "reset injected by IP ID", f: func() *flow.Flow {
			f := reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 52)
			f.Resp.Counting, f.Resp.LastIPID, f.RSTIPID = true, 1200, 40000
			return f
		}(), want: FindReset, sev: SevError, ev: "IP ID 40000, while the server's packets counted up to 1200"},
		{name: "reset with the server's IP ID", f: func() *flow.Flow {
			f := reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 52)
			f.Resp.Counting, f.Resp.LastIPID, f.RSTIPID = true, 1200, 1201
			return f
		}(), want: FindReset, sev: SevWarn, ev: "connection reset by the server"},
		{name: "reset by the client", f: reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirClient, r0+200*ms, 64)},
		{name: "reset after a FIN", f: func() *flow.Flow {
			f := reset(data(handshake(tcpFlow(443), 20*ms), 800, 4000), flow.DirServer, r0+200*ms, 52)
			f.Orig.Hist |= flow.HFIN
			return f
		}()},
	}
	runRules(t, e, cases)
}

func TestRulesTLS(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pq := &dissect.ClientHello{Length: 1520, SNI: "albert.apple.com", KeyShareGroups: []uint16{0x11EC}}
	hello := func(f *flow.Flow) *flow.Flow {
		f.App.HelloSeen, f.App.HelloTime, f.App.Hello = true, f.SynAckTime+ms, pq
		f.Orig.Bytes, f.Orig.Hist = 1524, f.Orig.Hist|flow.HData
		return f
	}
	unanswered := hello(handshake(tcpFlow(443), 20*ms))
	unanswered.Orig.Hist |= flow.HFIN
	unanswered.Last = r0 + 12200*ms
	injectedRST := reset(hello(handshake(tcpFlow(443), 20*ms)), flow.DirServer, r0+54*ms, 250)
	answered := hello(handshake(tcpFlow(443), 20*ms))
	answered.App.ServerHello = &dissect.ServerHello{Version: 0x0303}
	answered.Resp.Bytes = 3000

	alert := func(level uint8) *flow.Flow {
		f := data(hello(handshake(tcpFlow(443), 20*ms)), 1600, 3000)
		f.App.ServerHello = &dissect.ServerHello{Version: 0x0303}
		f.App.ClientAlert = []dissect.Alert{{Level: level, Description: 42}}
		return f
	}
	tls13 := func(records ...dissect.Record) *flow.Flow {
		f := data(hello(handshake(tcpFlow(443), 20*ms)), 1600, 3000)
		f.App.ServerHello = &dissect.ServerHello{Version: 0x0304}
		f.App.ServerEnc = true
		f.App.ClientRecs = records
		f.Orig.Hist |= flow.HFIN
		return f
	}
	hs, short, long := dissect.Record{Type: 22, Length: 1520}, dissect.Record{Type: 23, Length: 19}, dissect.Record{Type: 23, Length: 300}

	cases := []ruleCase{
		{name: "ClientHello unanswered", f: unanswered, want: FindHelloUnanswered, sev: SevError,
			ev: "ClientHello of 1524 bytes (X25519MLKEM768 key share), no ServerHello in 12.2s; the client gave up"},
		{name: "ClientHello reset by an injected RST", f: injectedRST, want: FindReset, sev: SevError,
			ev: "RST 54ms after the ClientHello for albert.apple.com looks injected: TTL 250"},
		{name: "ClientHello answered", f: answered},
		{name: "fatal alert after the certificate", f: alert(2), want: FindAborted, sev: SevError, ev: "client sent alert fatal bad_certificate"},
		{name: "warning alert", f: alert(1)},
		{name: "TLS 1.3 client closes after one short record", f: tls13(hs, short), want: FindAborted, sev: SevError,
			ev: "client sent one 19-byte encrypted record (an alert) and a FIN, no data"},
		{name: "TLS 1.3 client sends data", f: tls13(hs, short, long)},
	}
	runRules(t, e, cases)
}

// TestRulesChain: a chain that verifies to no trusted root is
// interception; a genuine chain is nothing, and an expired genuine one a
// clock problem.
func TestRulesChain(t *testing.T) {
	now := time.Unix(0, r0)
	root, rootKey := testCA(t, "Public Root", now)
	forger, forgerKey := testCA(t, "Zscaler Intermediate Root CA", now)
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.judge.trust = trust.NewStore(root)
	chain := func(ca *x509.Certificate, key *ecdsa.PrivateKey, name string, notAfter time.Time) *flow.Flow {
		f := data(handshake(tcpFlow(443), 20*ms), 1600, 3000)
		f.App.ServerHello = &dissect.ServerHello{Version: 0x0303}
		f.App.Certs = [][]byte{testLeaf(t, ca, key, name, now.AddDate(0, -2, 0), notAfter)}
		return f
	}
	cases := []ruleCase{
		{name: "forged chain", f: chain(forger, forgerKey, "albert.apple.com", now.AddDate(0, 1, 0)), want: FindIntercepted, sev: SevError,
			ev: "certificate for albert.apple.com issued by \"Zscaler Intermediate Root CA\""},
		{name: "genuine chain", f: chain(root, rootKey, "albert.apple.com", now.AddDate(0, 1, 0))},
		{name: "genuine chain for another name", f: chain(root, rootKey, "www.example.org", now.AddDate(0, 1, 0)), want: FindIntercepted, sev: SevError,
			ev: "covers www.example.org, not albert.apple.com"},
		{name: "genuine chain, expired", f: chain(root, rootKey, "albert.apple.com", now.AddDate(0, 0, -1)), want: FindCertExpired, sev: SevWarn,
			ev: "had expired at the capture's time"},
	}
	runRules(t, e, cases)
}

// testCA makes a self-signed CA valid around now.
func testCA(t *testing.T, cn string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{cn}},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	d, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(d)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// testLeaf makes a leaf for name signed by ca.
func testLeaf(t *testing.T, ca *x509.Certificate, key *ecdsa.PrivateKey, name string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notBefore, NotAfter: notAfter}
	d, err := x509.CreateCertificate(rand.Reader, l, ca, &k.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRulesProxy(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	via := func(method, target string, status int, reason string) *flow.Flow {
		f := data(handshake(tcpFlow(3128), 2*ms), 200, 300)
		f.Server = ruleProxy
		f.App.Request = &dissect.HTTPRequest{Method: method, Target: target, Complete: true}
		if method == "CONNECT" {
			f.App.Request.ConnectHost, f.App.Request.ConnectPort = "idmsa.apple.com", 443
		}
		f.App.Response = &dissect.HTTPResponse{Status: status, Reason: reason, Server: "squid/5.7", Complete: true}
		return f
	}
	origin := data(handshake(tcpFlow(80), 20*ms), 200, 300)
	origin.App.Request = &dissect.HTTPRequest{Method: "GET", Target: "/", Host: "appldnld.apple.com", Complete: true}
	origin.App.Response = &dissect.HTTPResponse{Status: 503, Reason: "Service Unavailable", Complete: true}

	cases := []ruleCase{
		{name: "CONNECT refused", f: via("CONNECT", "idmsa.apple.com:443", 407, "Proxy Authentication Required"), host: "idmsa.apple.com", port: 443,
			want: FindProxyDenied, sev: SevError, ev: "CONNECT idmsa.apple.com:443 via 10.20.0.8:3128 answered 407 Proxy Authentication Required (server: squid/5.7)"},
		{name: "absolute-form request forbidden", f: via("GET", "http://albert.apple.com/", 403, "Forbidden"),
			want: FindProxyDenied, sev: SevError, ev: "GET http://albert.apple.com/ via 10.20.0.8:3128 answered 403 Forbidden"},
		{name: "CONNECT allowed", f: via("CONNECT", "idmsa.apple.com:443", 200, "Connection established"), host: "idmsa.apple.com", port: 443},
		{name: "origin server's own 503", f: origin, host: "appldnld.apple.com"},
	}
	runRules(t, e, cases)
}

func TestRulesUDP(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	timeServer := netip.MustParseAddr("17.253.4.125")
	ntp := func(requests, replies int, n dissect.NTP) *flow.Flow {
		f := udpFlow(timeServer, 123, uint64(requests), uint64(replies))
		f.App.NTPClient, f.App.NTPRequests, f.App.NTPReplies, f.App.NTPFirst, f.App.NTP = true, requests, replies, r0, n
		f.App.NTPServer = replies > 0
		return f
	}
	var rate dissect.NTP
	rate.Mode, rate.RefID = 4, [4]byte{'R', 'A', 'T', 'E'}
	unsync := dissect.NTP{Mode: 4, Leap: 3, Stratum: 16}
	healthy := dissect.NTP{Mode: 4, Stratum: 2, RefID: [4]byte{17, 253, 4, 253}}
	quic := func(host string, short bool, answered uint64) ruleCase {
		f := udpFlow(netip.MustParseAddr("17.248.147.6"), 443, 3, answered)
		f.App.QUICPackets, f.App.QUICVersion, f.App.QUICShort = 3, dissect.QUICVersion1, short
		return ruleCase{f: f, host: host}
	}
	relay := quic("mask.icloud.com", false, 0)
	blocked := quic("gateway.icloud.com", false, 0)
	shortHeader := quic("gateway.icloud.com", true, 0)
	answered := quic("probe.icloud.com", false, 2)

	cases := []ruleCase{
		{name: "NTP unanswered", f: ntp(3, 0, dissect.NTP{Mode: 3}), host: "time-ios.apple.com", want: FindNTPUnanswered, sev: SevError, ev: "3 NTP requests over 4.0s, no reply"},
		{name: "NTP answered", f: ntp(1, 1, healthy), host: "time-ios.apple.com"},
		{name: "NTP kiss-o'-death", f: ntp(1, 1, rate), host: "time.apple.com", want: FindNTPBad, sev: SevWarn, ev: "server sent kiss-o'-death RATE"},
		{name: "NTP unsynchronised", f: ntp(1, 1, unsync), host: "time.apple.com", want: FindNTPBad, sev: SevWarn, ev: "server is unsynchronised (leap 3, stratum 16)"},
		{name: "QUIC unanswered", f: blocked.f, host: blocked.host, want: FindUDPUnanswered, sev: SevWarn, ev: "3 QUIC Initials (v1), no reply"},
		{name: "QUIC to Private Relay unanswered", f: relay.f, host: relay.host, want: FindUDPUnanswered, sev: SevInfo, ev: "iCloud Private Relay blocked"},
		{name: "QUIC answered out of sight", f: shortHeader.f, host: shortHeader.host},
		{name: "QUIC answered", f: answered.f, host: answered.host},
		{name: "DNS flows are judged per message", f: udpFlow(ruleDNS, 53, 2, 0), host: "mesu.apple.com"},
	}
	runRules(t, e, cases)
}

func TestRulesPortUnlisted(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []ruleCase{
		{name: "port the catalog does not list", f: data(handshake(tcpFlow(8081), 20*ms), 200, 300), want: FindPortUnlisted, sev: SevInfo,
			ev: "albert.apple.com reached on tcp/8081, which the catalog does not list for it"},
		{name: "listed port", f: data(handshake(tcpFlow(443), 20*ms), 200, 300)},
		{name: "unlisted port, no answer from the server", f: func() *flow.Flow {
			f := handshake(tcpFlow(8081), 20*ms)
			f.Resp.Packets = 0
			return f
		}()},
	}
	runRules(t, e, cases)
}

// judgedFindings returns the names and severities of the judge's findings.
func judgedFindings(j *judge) map[string]Severity {
	out := map[string]Severity{}
	for _, fd := range j.order {
		out[fd.Finding] = fd.Tally.Sev
	}
	return out
}

func TestRulesDNS(t *testing.T) {
	answer := func(name string, rcode uint16, addrs ...string) *dissect.DNSMessage {
		m := &dissect.DNSMessage{Response: true, RCode: rcode, Questions: []dissect.DNSQuestion{{Name: name, Type: 1, Class: 1}}}
		for _, a := range addrs {
			m.Answers = append(m.Answers, dissect.DNSRecord{Name: name, Type: 1, Class: 1, Addr: netip.MustParseAddr(a)})
		}
		return m
	}
	cases := []struct {
		name string
		m    *dissect.DNSMessage
		want string
		sev  Severity
		ev   string
	}{
		{"SERVFAIL", answer("mesu.apple.com", 2), FindDNSFailure, SevError, "mesu.apple.com A answered SERVFAIL by 10.20.0.53"},
		{"NXDOMAIN for Private Relay", answer("mask.icloud.com", 3), FindDNSFailure, SevInfo, "iCloud Private Relay turned off by the network"},
		{"no address for Private Relay", answer("mask.icloud.com", 0), FindDNSFailure, SevInfo, "answered with no address"},
		{"sinkholed", answer("updates.cdn-apple.com", 0, "0.0.0.0"), FindDNSSinkhole, SevError, "updates.cdn-apple.com A answered 0.0.0.0 by 10.20.0.53"},
		{"block page", answer("updates.cdn-apple.com", 0, "146.112.61.106"), FindDNSSinkhole, SevError, "answered 146.112.61.106"},
		{"sinkholed Private Relay", answer("mask.icloud.com", 0, "127.0.0.1"), FindDNSSinkhole, SevInfo, "answered 127.0.0.1"},
		{"answered", answer("mesu.apple.com", 0, "17.253.17.207"), "", 0, ""},
		{"split-horizon private address", answer("mesu.apple.com", 0, "10.1.2.3"), "", 0, ""},
		{"NXDOMAIN for a name not Apple's", answer("www.example.org", 3), "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			f := udpFlow(ruleDNS, 53, 1, 1)
			e.judge.dnsResponse(f, &flow.Answer{Client: ruleClient, Server: ruleDNS, Port: 53, Msg: c.m, TS: r0, Proto: "udp"})
			got := e.judge.order
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("raised %s (%s)", got[0].Finding, got[0].Evidence)
				}
				return
			}
			if len(got) != 1 || got[0].Finding != c.want || got[0].Tally.Sev != c.sev || !strings.Contains(got[0].Evidence, c.ev) {
				for _, fd := range got {
					t.Logf("raised %s %s %q", fd.Finding, fd.Severity, fd.Evidence)
				}
				t.Fatalf("want one %s %s containing %q", c.want, c.sev, c.ev)
			}
			if got[0].Advice == "" {
				t.Error("no advice")
			}
		})
	}
}

func TestRulesDNSUnanswered(t *testing.T) {
	q := flow.PendingQuery{ID: 7, QType: 1, Name: "appldnld.apple.com", TS: r0, Copies: 2}
	cases := []struct {
		name   string
		server netip.Addr
		port   uint16
		end    int64 // the capture's end, 0: none known
		want   string
		sev    Severity
	}{
		{"unicast query unanswered", ruleDNS, 53, 0, FindDNSUnanswered, SevWarn},
		{"the capture ended before the answer was due", ruleDNS, 53, r0 + 1e9, FindDNSUnanswered, SevInfo},
		{"mDNS query", netip.MustParseAddr("224.0.0.251"), 5353, 0, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			if c.end != 0 {
				e.ends.add(c.end)
			}
			f := udpFlow(c.server, c.port, 2, 0)
			f.Last = r0 + 1e9
			e.judge.dnsUnanswered(f, q)
			e.judge.judgeUnanswered()
			got := judgedFindings(e.judge)
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("raised %v", got)
				}
				return
			}
			if sev, ok := got[c.want]; !ok || sev != c.sev || len(got) != 1 {
				t.Fatalf("raised %v, want %s %s", got, c.want, c.sev)
			}
			if fd := e.judge.order[0]; !strings.Contains(fd.Evidence, "appldnld.apple.com A to 10.20.0.53 sent 2 times, no answer") {
				t.Errorf("evidence %q", fd.Evidence)
			}
		})
	}
}

// TestRulesPushFallback: push that failed on 5223 and then worked on 443
// is apns.fallback, once per device; working on 443 first is not.
func TestRulesPushFallback(t *testing.T) {
	push := func(e *Engine, f *flow.Flow) {
		host := "courier.push.apple.com"
		if f.SPort == 5223 {
			host = "27-courier.push.apple.com"
		}
		at := appleAt(e, f, host)
		e.judge.pushFallback(f, &at, e.judge.classify(f, &at))
	}
	failed := func() *flow.Flow { return tcpFlow(5223) }
	worked := func(start int64) *flow.Flow {
		f := data(handshake(tcpFlow(443), 20*ms), 600, 900)
		f.First, f.SynTime = start, start
		return f
	}
	cases := []struct {
		name  string
		flows []*flow.Flow
		want  int
	}{
		{"5223 failed, then 443 worked", []*flow.Flow{failed(), worked(r0 + 8e9)}, 1},
		{"443 worked, then 5223 failed", []*flow.Flow{worked(r0 - 60e9), failed()}, 0},
		{"5223 failed twice, 443 twice", []*flow.Flow{failed(), failed(), worked(r0 + 8e9), worked(r0 + 9e9)}, 1},
		{"5223 failed only", []*flow.Flow{failed()}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range c.flows {
				push(e, f)
			}
			n := 0
			for _, fd := range e.judge.order {
				if fd.Finding != FindAPNSFallback || fd.Tally.Sev != SevWarn {
					t.Errorf("raised %s %s", fd.Finding, fd.Severity)
					continue
				}
				n++
				if !strings.Contains(fd.Evidence, "then the device reached courier.push.apple.com on 443") {
					t.Errorf("evidence %q", fd.Evidence)
				}
			}
			if n != c.want {
				t.Errorf("%d apns.fallback, want %d", n, c.want)
			}
		})
	}
}
