package ecs

import "orchard/eventjson"

// AppendJSON appends the document as one JSON object, byte for byte what
// encoding/json writes for it with HTML escaping off, without reflection:
// the Kafka output encodes hundreds of thousands of documents a second.
// The tests compare the two on every field and on real captures.
func (d *Doc) AppendJSON(b []byte) []byte {
	o := eventjson.NewObject(b)
	o.Str("@timestamp", d.Timestamp)
	o.Begin("ecs")
	o.Str("version", d.ECS.Version)
	o.End()
	o.StrOmit("message", d.Message)
	d.Event.append(&o)
	o.Begin("observer")
	o.StrOmit("name", d.Observer.Name)
	o.StrOmit("hostname", d.Observer.Hostname)
	o.Str("type", d.Observer.Type)
	o.Str("product", d.Observer.Product)
	o.End()
	if n := d.Network; n != nil {
		n.append(&o)
	}
	if s := d.Source; s != nil {
		s.append(&o, "source")
	}
	if s := d.Destination; s != nil {
		s.append(&o, "destination")
	}
	if p := d.Process; p != nil {
		o.Begin("process")
		o.Str("name", p.Name)
		o.IntOmit("pid", int64(p.PID))
		o.End()
	}
	if t := d.TLS; t != nil {
		t.append(&o)
	}
	if h := d.HTTP; h != nil {
		o.Begin("http")
		if r := h.Request; r != nil {
			o.Begin("request")
			o.Str("method", r.Method)
			o.End()
		}
		if r := h.Response; r != nil {
			o.Begin("response")
			o.Int("status_code", int64(r.StatusCode))
			o.End()
		}
		o.End()
	}
	if u := d.URL; u != nil {
		o.Begin("url")
		o.Str("domain", u.Domain)
		o.End()
	}
	if u := d.UserAgent; u != nil {
		o.Begin("user_agent")
		o.Str("original", u.Original)
		o.End()
	}
	if n := d.DNS; n != nil {
		n.append(&o)
	}
	if r := d.Rule; r != nil {
		o.Begin("rule")
		o.Str("name", r.Name)
		o.Str("category", r.Category)
		o.Str("reference", r.Reference)
		o.Str("ruleset", r.Ruleset)
		o.End()
	}
	if or := d.Orchard; or != nil {
		or.append(&o)
	}
	if r := d.Related; r != nil {
		o.Begin("related")
		o.StrsOmit("ip", r.IP)
		o.StrsOmit("hosts", r.Hosts)
		o.End()
	}
	return o.Close()
}

func (e *Event) append(o *eventjson.Object) {
	o.Begin("event")
	o.Str("kind", e.Kind)
	o.Strs("category", e.Category)
	o.Strs("type", e.Type)
	o.Str("module", e.Module)
	o.Str("dataset", e.Dataset)
	o.StrOmit("outcome", e.Outcome)
	o.IntOmit("severity", int64(e.Severity))
	o.StrOmit("start", e.Start)
	o.StrOmit("end", e.End)
	o.IntOmit("duration", e.Duration)
	o.End()
}

func (n *Network) append(o *eventjson.Object) {
	o.Begin("network")
	o.StrOmit("community_id", n.CommunityID)
	o.StrOmit("transport", n.Transport)
	o.StrOmit("type", n.Type)
	o.StrOmit("protocol", n.Protocol)
	o.UintOmit("bytes", n.Bytes)
	o.UintOmit("packets", n.Packets)
	if v := n.VLAN; v != nil {
		o.Begin("vlan")
		o.Str("id", v.ID)
		o.End()
	}
	o.End()
}

func (e *Endpoint) append(o *eventjson.Object, k string) {
	o.Begin(k)
	o.StrOmit("ip", e.IP)
	o.UintOmit("port", uint64(e.Port))
	o.StrOmit("mac", e.MAC)
	o.StrOmit("domain", e.Domain)
	if e.Bytes != nil {
		o.Uint("bytes", *e.Bytes)
	}
	if e.Packets != nil {
		o.Uint("packets", *e.Packets)
	}
	o.End()
}

func (t *TLS) append(o *eventjson.Object) {
	o.Begin("tls")
	o.StrOmit("version", t.Version)
	o.StrOmit("version_protocol", t.VersionProtocol)
	o.StrOmit("cipher", t.Cipher)
	o.StrOmit("next_protocol", t.NextProtocol)
	if c := t.Client; c != nil {
		o.Begin("client")
		o.StrOmit("server_name", c.ServerName)
		o.End()
	}
	if s := t.Server; s != nil {
		o.Begin("server")
		o.StrOmit("issuer", s.Issuer)
		o.StrOmit("subject", s.Subject)
		o.End()
	}
	o.End()
}

func (d *DNS) append(o *eventjson.Object) {
	o.Begin("dns")
	o.Str("type", d.Type)
	o.Begin("question")
	o.Str("name", d.Question.Name)
	o.StrOmit("type", d.Question.Type)
	o.End()
	o.StrOmit("response_code", d.ResponseCode)
	if len(d.Answers) > 0 {
		o.Key("answers")
		o.B = append(o.B, '[')
		for i := range d.Answers {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			a := &d.Answers[i]
			c := eventjson.NewObject(o.B)
			c.Str("name", a.Name)
			c.Str("type", a.Type)
			c.Uint("ttl", uint64(a.TTL))
			c.Str("data", a.Data)
			o.B = c.Close()
		}
		o.B = append(o.B, ']')
	}
	o.StrsOmit("resolved_ip", d.ResolvedIP)
	o.End()
}

func (or *Orchard) append(o *eventjson.Object) {
	o.Begin("orchard")
	o.Str("type", or.Type)
	o.StrOmit("host", or.Host)
	o.StrOmit("name_source", or.NameSource)
	o.StrOmit("service", or.Service)
	o.StrOmit("section", or.Section)
	o.BoolOmit("apple", or.Apple)
	o.StrsOmit("findings", or.Findings)
	o.StrOmit("verdict", or.Verdict)
	o.StrOmit("state", or.State)
	o.StrOmit("ja4", or.JA4)
	o.StrOmit("tls_group", or.TLSGroup)
	o.BoolOmit("tls_pq", or.TLSPQ)
	o.IntOmit("hello_bytes", int64(or.HelloBytes))
	o.StrOmit("tls_alert", or.TLSAlert)
	o.StrsOmit("cert_chain", or.CertChain)
	o.StrOmit("connect_target", or.Connect)
	o.StrOmit("rst_by", or.RSTBy)
	o.StrOmit("icmp", or.ICMP)
	o.IntOmit("syn_retries", int64(or.SynRetries))
	o.BoolOmit("evicted", or.Evicted)
	if n := or.NTP; n != nil {
		o.Begin("ntp")
		o.StrOmit("mode", n.Mode)
		if n.Stratum != nil {
			o.Int("stratum", int64(*n.Stratum))
		}
		o.StrOmit("refid", n.RefID)
		o.End()
	}
	o.StrOmit("quic_version", or.QUIC)
	o.IntOmit("count", int64(or.Count))
	o.StrOmit("severity", or.Severity)
	o.StrOmit("advice", or.Advice)
	if c := or.Capture; c != nil {
		o.Begin("capture")
		o.StrsOmit("files", c.Files)
		o.Uint("packets", c.Packets)
		o.Uint("bytes", c.Bytes)
		o.Uint("flows", c.Flows)
		o.Uint("apple_flows", c.AppleFlows)
		o.Int("devices", int64(c.Devices))
		o.Uint("malformed", c.Malformed)
		o.StrsOmit("warnings", c.Warnings)
		o.StrsOmit("errors", c.Errors)
		o.UintOmit("dropped", c.Dropped)
		o.End()
	}
	o.End()
}
