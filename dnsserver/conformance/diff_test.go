package conformance

import (
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// minQueries is the least number of queries the differential run compares.
const minQueries = 150

// zoneData is what the zone files hold, parsed with miekg/dns.
type zoneData struct {
	origins []string            // longest first
	soa     map[string]*dns.SOA // by origin
	records map[string][]dns.RR // by origin, in file order
	byName  map[string][]dns.RR // by lower-case owner
}

func loadZones(t *testing.T, zones []zoneFile) *zoneData {
	t.Helper()
	zd := &zoneData{soa: map[string]*dns.SOA{}, records: map[string][]dns.RR{}, byName: map[string][]dns.RR{}}
	for _, z := range zones {
		f, err := os.Open(z.path)
		if err != nil {
			t.Fatal(err)
		}
		zp := dns.NewZoneParser(f, z.origin, z.path)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			rr.Header().Name = strings.ToLower(rr.Header().Name)
			zd.records[z.origin] = append(zd.records[z.origin], rr)
			zd.byName[rr.Header().Name] = append(zd.byName[rr.Header().Name], rr)
			if soa, ok := rr.(*dns.SOA); ok && rr.Header().Name == z.origin {
				zd.soa[z.origin] = soa
			}
		}
		f.Close()
		if err := zp.Err(); err != nil {
			t.Fatalf("parsing %s: %v", z.path, err)
		}
		if zd.soa[z.origin] == nil {
			t.Fatalf("%s has no SOA", z.path)
		}
		zd.origins = append(zd.origins, z.origin)
	}
	sort.Slice(zd.origins, func(i, j int) bool { return len(zd.origins[i]) > len(zd.origins[j]) })
	return zd
}

// zoneOf returns the origin of the served zone holding name, or "".
func (zd *zoneData) zoneOf(name string) string {
	name = strings.ToLower(name)
	for _, o := range zd.origins {
		if dns.IsSubDomain(o, name) {
			return o
		}
	}
	return ""
}

// anyData returns the RRs an ANY query for name may draw from: the name's
// own RRsets, or those of the wildcard that covers it (owner rewritten).
func (zd *zoneData) anyData(name string) []dns.RR {
	lname := strings.ToLower(name)
	if rrs := zd.byName[lname]; rrs != nil {
		return rrs
	}
	labels := dns.SplitDomainName(lname)
	for i := 1; i < len(labels); i++ {
		wild := "*." + strings.Join(labels[i:], ".") + "."
		if rrs := zd.byName[wild]; rrs != nil {
			out := make([]dns.RR, len(rrs))
			for j, rr := range rrs {
				out[j] = dns.Copy(rr)
				out[j].Header().Name = lname
			}
			return out
		}
	}
	return nil
}

// negTTL is the TTL a negative answer's SOA must carry: min(TTL, MINIMUM).
func (zd *zoneData) negTTL(origin string) uint32 {
	soa := zd.soa[origin]
	return min(soa.Hdr.Ttl, soa.Minttl)
}

// reply is a server's answer to one query.
type reply struct {
	msg  *dns.Msg
	wire int // length of the message as received
	err  error
}

// exchange sends q to addr and reads one reply without a size limit, so an
// oversized UDP reply is seen as such rather than cut off.
func exchange(q query, addr string) reply {
	var r reply
	for attempt := 0; attempt < 3; attempt++ {
		r = exchangeOnce(q, addr)
		if r.err == nil || q.net != "udp" {
			break
		}
		if ne, ok := r.err.(net.Error); !ok || !ne.Timeout() {
			break
		}
	}
	return r
}

func exchangeOnce(q query, addr string) reply {
	c := &dns.Client{Net: q.net, Timeout: 2 * time.Second}
	co, err := c.Dial(addr)
	if err != nil {
		return reply{err: err}
	}
	defer co.Close()
	_ = co.SetDeadline(time.Now().Add(2 * time.Second))
	m := q.msg()
	if err := co.WriteMsg(m); err != nil {
		return reply{err: err}
	}
	co.UDPSize = dns.MaxMsgSize
	p, err := co.ReadMsgHeader(nil)
	if err != nil {
		return reply{err: err}
	}
	r := new(dns.Msg)
	if err := r.Unpack(p); err != nil {
		return reply{wire: len(p), err: fmt.Errorf("unpacking %d-byte reply: %w", len(p), err)}
	}
	if r.Id != m.Id {
		return reply{msg: r, wire: len(p), err: fmt.Errorf("reply id %d, query id %d", r.Id, m.Id)}
	}
	return reply{msg: r, wire: len(p)}
}

// rrStrings renders rrs for set comparison, sorted, OPT left out, with owner
// names and the domain names in RDATA lower-cased: a server that compresses
// an RDATA name against the question (NSD does) writes it in the question's
// case, which is as correct as writing it in the zone's (RFC 4343).
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		c := dns.Copy(rr)
		c.Header().Name = strings.ToLower(c.Header().Name)
		switch c := c.(type) {
		case *dns.NS:
			c.Ns = strings.ToLower(c.Ns)
		case *dns.CNAME:
			c.Target = strings.ToLower(c.Target)
		case *dns.MX:
			c.Mx = strings.ToLower(c.Mx)
		case *dns.SOA:
			c.Ns, c.Mbox = strings.ToLower(c.Ns), strings.ToLower(c.Mbox)
		case *dns.SRV:
			c.Target = strings.ToLower(c.Target)
		case *dns.PTR:
			c.Ptr = strings.ToLower(c.Ptr)
		}
		out = append(out, c.String())
	}
	sort.Strings(out)
	return out
}

// setDiff describes how two sorted RR sets differ, or returns "".
func setDiff(a, b []string) string { return setDiffLabels(a, b, "lbdns", "nsd") }

// setDiffLabels is setDiff naming the sides la and lb.
func setDiffLabels(a, b []string, la, lb string) string {
	if slices.Equal(a, b) {
		return ""
	}
	var sb strings.Builder
	for _, s := range a {
		if !slices.Contains(b, s) {
			fmt.Fprintf(&sb, "\n    only %s: %s", la, s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			fmt.Fprintf(&sb, "\n    only %s: %s", lb, s)
		}
	}

	if sb.Len() == 0 {
		sb.WriteString("\n    same RRs, different multiplicity")
	}
	return sb.String()
}

// difference is one way the two replies to a query differ.
type difference struct {
	category string // "rcode", "flag AA", "answer", ...
	detail   string
}

func hasNS(rrs []dns.RR) bool {
	return slices.ContainsFunc(rrs, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeNS })
}

// compare lists the differences between lbdns's and NSD's replies to q.
func compare(q query, zd *zoneData, lb, ns *dns.Msg) []difference {
	var ds []difference
	add := func(cat, format string, args ...any) {
		ds = append(ds, difference{cat, fmt.Sprintf(format, args...)})
	}
	if lb.Rcode != ns.Rcode {
		add("rcode", "lbdns %s, nsd %s", dns.RcodeToString[lb.Rcode], dns.RcodeToString[ns.Rcode])
	}
	flags := []struct {
		name    string
		lb, nsd bool
	}{
		{"QR", lb.Response, ns.Response},
		{"AA", lb.Authoritative, ns.Authoritative},
		{"TC", lb.Truncated, ns.Truncated},
		{"RD", lb.RecursionDesired, ns.RecursionDesired},
		{"RA", lb.RecursionAvailable, ns.RecursionAvailable},
	}
	badvers := q.version != 0
	for _, f := range flags {
		if badvers && f.name != "QR" && f.name != "RD" && f.name != "RA" {
			continue // a BADVERS reply's other flags are not specified
		}
		if f.lb != f.nsd {
			add("flag "+f.name, "lbdns %v, nsd %v", f.lb, f.nsd)
		}
	}
	if lb.Opcode != ns.Opcode {
		add("opcode", "lbdns %d, nsd %d", lb.Opcode, ns.Opcode)
	}

	// The question, byte for byte (case preservation).
	lq, nq := fmt.Sprint(lb.Question), fmt.Sprint(ns.Question)
	if len(lb.Question) != len(ns.Question) || (len(lb.Question) == 1 && lb.Question[0] != ns.Question[0]) {
		add("question", "lbdns %s, nsd %s", lq, nq)
	}

	// The OPT record.
	lo, no := lb.IsEdns0(), ns.IsEdns0()
	switch {
	case (lo == nil) != (no == nil):
		add("OPT presence", "lbdns has OPT: %v, nsd has OPT: %v", lo != nil, no != nil)
	case lo != nil:
		if lo.UDPSize() != no.UDPSize() {
			add("OPT udp size", "lbdns %d, nsd %d", lo.UDPSize(), no.UDPSize())
		}
		if lo.Version() != no.Version() {
			add("OPT version", "lbdns %d, nsd %d", lo.Version(), no.Version())
		}
		if lo.ExtendedRcode() != no.ExtendedRcode() {
			add("OPT extended rcode", "lbdns %d, nsd %d", lo.ExtendedRcode(), no.ExtendedRcode())
		}
		if lo.Do() != no.Do() {
			add("OPT DO bit", "lbdns %v, nsd %v", lo.Do(), no.Do())
		}
	}

	// Sections: not for truncated replies, whose content is unspecified,
	// nor for BADVERS.
	if lb.Truncated || ns.Truncated || badvers {
		return ds
	}
	if q.qtype == dns.TypeANY && q.kind == kAnswer {
		// RFC 8482: NSD answers ANY with one RRset even over TCP; lbdns
		// may return one or all. Each must be whole RRsets of the name.
		if msg := checkANY(q, zd, lb); msg != "" {
			add("ANY answer", "lbdns: %s", msg)
		}
	} else if d := setDiff(rrStrings(lb.Answer), rrStrings(ns.Answer)); d != "" {
		add("answer", "%s", d)
	}
	if d := setDiff(rrStrings(lb.Ns), rrStrings(ns.Ns)); d != "" {
		add("authority", "%s", d)
	}
	// Additional data is compared on referrals only, where glue is
	// required; elsewhere NSD's minimal responses add none.
	if hasNS(lb.Ns) || hasNS(ns.Ns) {
		if d := setDiff(rrStrings(lb.Extra), rrStrings(ns.Extra)); d != "" {
			add("additional (referral)", "%s", d)
		}
	}
	return ds
}

// checkANY checks an ANY answer: non-empty, and made of whole RRsets of the
// queried name (RFC 8482 lets a server return one or all of them).
func checkANY(q query, zd *zoneData, r *dns.Msg) string {
	got := rrStrings(r.Answer)
	if len(got) == 0 {
		return "empty answer"
	}
	types := map[uint16]bool{}
	for _, rr := range r.Answer {
		types[rr.Header().Rrtype] = true
	}
	var want []dns.RR
	for _, rr := range zd.anyData(q.sent) {
		if types[rr.Header().Rrtype] {
			want = append(want, rr)
		}
	}
	if d := setDiffLabels(got, rrStrings(want), "reply", "zone"); d != "" {
		return "not whole RRsets of the name:" + d
	}
	return ""
}

// checkReply checks what any correct authoritative reply to q must satisfy,
// independently of the other server. It returns the problems found.
func checkReply(q query, zd *zoneData, rp reply) []string {
	var ps []string
	add := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	r := rp.msg
	if !r.Response {
		add("QR clear")
	}
	if r.RecursionAvailable {
		add("RA set")
	}
	if r.RecursionDesired != q.rd {
		add("RD %v, query had %v", r.RecursionDesired, q.rd)
	}
	if len(r.Question) != 1 || r.Question[0].Name != q.sent || r.Question[0].Qtype != q.qtype || r.Question[0].Qclass != dns.ClassINET {
		add("question %v, sent %q %s", r.Question, q.sent, dns.Type(q.qtype).String())
	}
	opt := r.IsEdns0()
	if (opt != nil) != (q.edns != 0) {
		add("OPT in reply: %v, in query: %v", opt != nil, q.edns != 0)
	}
	if opt != nil && opt.Version() != 0 {
		add("OPT version %d", opt.Version())
	}
	if opt != nil && q.edns != 0 && opt.Do() != q.do {
		add("DO bit %v, query had %v (RFC 3225 copies it)", opt.Do(), q.do)
	}
	if q.net == "udp" {
		if limit := max(int(q.edns), dns.MinMsgSize); rp.wire > limit {
			add("%d-byte UDP reply exceeds the %d-byte limit", rp.wire, limit)
		}
	}
	if q.version != 0 {
		if r.Rcode != dns.RcodeBadVers {
			add("rcode %s, want BADVERS for EDNS version %d", dns.RcodeToString[r.Rcode], q.version)
		}
		return ps
	}
	var serverSize uint16
	if opt != nil {
		serverSize = opt.UDPSize()
	}
	if want := q.wantTC(serverSize); r.Truncated != want {
		add("TC %v, want %v", r.Truncated, want)
	}
	if r.Truncated {
		return ps
	}
	if q.size > 0 && len(r.Answer) == 0 {
		add("big RRset: empty answer without TC")
	}

	wantRcode, wantAA := dns.RcodeSuccess, true
	switch q.kind {
	case kNXDomain, kCNAMENX:
		wantRcode = dns.RcodeNameError
	case kReferral:
		wantAA = false
	case kRefused:
		wantRcode, wantAA = dns.RcodeRefused, false
	}
	if r.Rcode != wantRcode {
		add("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[wantRcode])
	}
	if r.Authoritative != wantAA {
		add("AA %v, want %v for a %s", r.Authoritative, wantAA, q.kind)
	}

	switch q.kind {
	case kAnswer, kCNAMENoData, kCNAMENX, kCNAMERef:
		if len(r.Answer) == 0 {
			add("empty answer for a %s", q.kind)
		} else if !strings.EqualFold(r.Answer[0].Header().Name, q.sent) {
			add("first answer owner %s, question %s", r.Answer[0].Header().Name, q.sent)
		}
		if q.kind != kAnswer && len(r.Answer) > 0 && r.Answer[0].Header().Rrtype != dns.TypeCNAME {
			add("answer does not start with the CNAME")
		}
	case kNoData, kNXDomain, kReferral, kRefused:
		if len(r.Answer) != 0 {
			add("%d answer RRs for a %s", len(r.Answer), q.kind)
		}
	}

	switch q.kind {
	case kNoData, kNXDomain, kCNAMENoData, kCNAMENX:
		origin := zd.zoneOf(q.sent)
		var soas []*dns.SOA
		for _, rr := range r.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				soas = append(soas, soa)
			}
		}
		if len(soas) != 1 || len(r.Ns) != 1 {
			add("authority %v, want exactly the SOA of %s", r.Ns, origin)
			break
		}
		if !strings.EqualFold(soas[0].Hdr.Name, origin) {
			add("negative answer SOA owner %s, want %s", soas[0].Hdr.Name, origin)
		}
		if want := zd.negTTL(origin); soas[0].Hdr.Ttl != want {
			add("negative answer SOA TTL %d, want min(SOA TTL, MINIMUM) = %d", soas[0].Hdr.Ttl, want)
		}
	case kReferral, kCNAMERef:
		if !hasNS(r.Ns) {
			add("no NS in the authority section of a %s", q.kind)
		}
		for _, rr := range r.Ns {
			if rr.Header().Rrtype != dns.TypeNS {
				add("%s in the authority section of a %s", dns.TypeToString[rr.Header().Rrtype], q.kind)
			} else if zd.zoneOf(rr.Header().Name) == rr.Header().Name {
				add("NS of the apex %s in a referral", rr.Header().Name)
			}
		}
	}
	return ps
}

func TestDifferential(t *testing.T) {
	zones := testZones(t)
	zd := loadZones(t, zones)
	nsd := startNSD(t, zones)
	lb := startLBDNS(t, zones)

	t.Run("queries", func(t *testing.T) {
		qs := corpus()
		if len(qs) < minQueries {
			t.Fatalf("corpus has %d queries, want at least %d", len(qs), minQueries)
		}
		type example struct {
			count int
			first string
		}
		categories := map[string]*example{}
		var compared, differing int
		start := time.Now()
		for _, q := range qs {
			lr, nr := exchange(q, lb.addr), exchange(q, nsd.addr)
			if nr.err != nil {
				t.Errorf("nsd: %s: %v", q, nr.err)
				continue
			}
			for _, p := range checkReply(q, zd, nr) {
				t.Errorf("corpus table disagrees with nsd: %s: %s\n%s", q, p, nr.msg)
			}
			if lr.err != nil {
				t.Errorf("lbdns: %s: %v\n--- nsd reply:\n%s", q, lr.err, nr.msg)
				ex := categories["no reply"]
				if ex == nil {
					ex = &example{first: q.String()}
					categories["no reply"] = ex
				}
				ex.count++
				differing++
				continue
			}
			compared++
			for _, p := range checkReply(q, zd, lr) {
				t.Errorf("lbdns: %s: %s\n%s", q, p, lr.msg)
			}
			if q.qtype == dns.TypeANY && q.kind == kAnswer && q.edns == 0 {
				t.Logf("ANY %s over TCP: lbdns returned %d RRs, nsd %d, the name holds %d",
					q.sent, len(lr.msg.Answer), len(nr.msg.Answer), len(zd.anyData(q.sent)))
			}
			ds := compare(q, zd, lr.msg, nr.msg)
			if len(ds) == 0 {
				continue
			}
			differing++
			var b strings.Builder
			for _, d := range ds {
				fmt.Fprintf(&b, "\n  %s: %s", d.category, d.detail)
				ex := categories[d.category]
				if ex == nil {
					ex = &example{first: q.String()}
					categories[d.category] = ex
				}
				ex.count++
			}
			t.Errorf("lbdns and nsd differ on %s:%s\n--- lbdns reply (%d bytes):\n%s\n--- nsd reply (%d bytes):\n%s",
				q, b.String(), lr.wire, lr.msg, nr.wire, nr.msg)
		}
		t.Logf("compared %d queries (%d cases) in %v; %d differ", compared, len(cases), time.Since(start).Round(time.Millisecond), differing)
		cats := make([]string, 0, len(categories))
		for c := range categories {
			cats = append(cats, c)
		}
		sort.Strings(cats)
		for _, c := range cats {
			t.Logf("difference %-22s %3d queries, e.g. %s", c+":", categories[c].count, categories[c].first)
		}
		if compared < minQueries {
			t.Errorf("only %d queries compared, want at least %d", compared, minQueries)
		}
	})

	t.Run("axfr", func(t *testing.T) {
		for _, s := range []*server{lb, nsd} {
			for _, origin := range zd.origins {
				checkAXFR(t, s, origin, zd.records[origin])
			}
		}
	})

	t.Run("axfr-denied", func(t *testing.T) {
		// --allow-transfer 127.0.0.1/32: a transfer from 127.0.0.2 must fail.
		for _, s := range []*server{lb, nsd} {
			d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
			c := &dns.Client{Net: "tcp", Dialer: d, Timeout: 2 * time.Second}
			m := new(dns.Msg)
			m.SetAxfr(zd.origins[len(zd.origins)-1])
			r, _, err := c.Exchange(m, s.addr)
			switch {
			case err != nil && strings.Contains(err.Error(), "bind"):
				t.Logf("cannot send from 127.0.0.2 (%v); not checked", err)
			case err != nil:
				t.Logf("%s: AXFR from 127.0.0.2: %v (connection refused or closed counts as denied)", s.name, err)
			case r.Rcode == dns.RcodeSuccess || len(r.Answer) > 0:
				t.Errorf("%s: AXFR from 127.0.0.2 allowed: rcode %s, %d RRs", s.name, dns.RcodeToString[r.Rcode], len(r.Answer))
			default:
				t.Logf("%s: AXFR from 127.0.0.2: %s", s.name, dns.RcodeToString[r.Rcode])
			}
		}
	})
}

// checkAXFR transfers origin from s and checks it starts and ends with the
// SOA and holds exactly the zone file's records.
func checkAXFR(t *testing.T, s *server, origin string, want []dns.RR) {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(origin)
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second}
	ch, err := tr.In(m, s.addr)
	if err != nil {
		t.Errorf("%s: AXFR %s: %v", s.name, origin, err)
		return
	}
	var got []dns.RR
	for env := range ch {
		if env.Error != nil {
			t.Errorf("%s: AXFR %s: %v", s.name, origin, env.Error)
			return
		}
		got = append(got, env.RR...)
	}
	if len(got) < 2 {
		t.Errorf("%s: AXFR %s: %d RRs", s.name, origin, len(got))
		return
	}
	first, last := got[0], got[len(got)-1]
	if first.Header().Rrtype != dns.TypeSOA || last.Header().Rrtype != dns.TypeSOA ||
		!strings.EqualFold(first.Header().Name, origin) || !strings.EqualFold(last.Header().Name, origin) {
		t.Errorf("%s: AXFR %s starts with %s and ends with %s, want the SOA twice", s.name, origin, first, last)
	}
	if d := setDiffLabels(rrStrings(got[:len(got)-1]), rrStrings(want), "AXFR", "file"); d != "" {
		t.Errorf("%s: AXFR %s differs from the zone file:%s", s.name, origin, d)
	} else {
		t.Logf("%s: AXFR %s: %d RRs, SOA first and last", s.name, origin, len(got))
	}
}
