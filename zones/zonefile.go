package zones

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// ParseZoneFile reads and validates a whole RFC 1035 master file for the
// zone at origin. It applies the same record checks as AddRecord plus the
// zone invariants (one SOA at the apex, at least one apex NS, CNAME
// exclusivity, consistent RRset TTLs), and rejects the file whole on the
// first problem. Errors are *Error carrying filename and, where one can be
// blamed, the line. $INCLUDE stays disabled: a zone file must not be able
// to read other files on the server.
func ParseZoneFile(origin, filename string, r io.Reader) (*Zone, error) {
	o, err := canonName("name", origin)
	if err != nil {
		e := err.(*Error)
		e.File = filename
		return nil, e
	}
	text, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filename, err)
	}
	p := &fileParser{
		origin: o,
		file:   filename,
		lines:  strings.Split(string(text), "\n"),
		sets:   map[string][]lineRR{},
		owners: map[string]*ownerTypes{},
	}
	return p.parse(&lineReader{buf: text})
}

// WriteZoneFile writes z as a master file: an $ORIGIN line, then one
// record per line with absolute names, SOA first and the rest in
// canonical order. The output parses back with ParseZoneFile to the same
// records, and writing those again gives the same bytes.
func WriteZoneFile(w io.Writer, z *Zone) error {
	rrs := slices.Clone(z.Records)
	SortRecords(rrs)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "$ORIGIN %s\n", z.Origin)
	for _, rr := range rrs {
		bw.WriteString(rr.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// lineRR is a parsed record and the line it started on.
type lineRR struct {
	rr   dns.RR
	line int
}

// ownerTypes remembers, per owner, where its CNAME and its first other
// record were, to enforce CNAME exclusivity (RFC 1034 §3.6.2).
type ownerTypes struct {
	cname     int // line of the CNAME, 0 if none
	other     int // line of the first non-CNAME record, 0 if none
	otherType uint16
}

// fileParser holds the state of one ParseZoneFile call.
type fileParser struct {
	origin  string
	file    string
	lines   []string
	sets    map[string][]lineRR // by setKey
	owners  map[string]*ownerTypes
	soaLine int
	apexNS  bool
	records []dns.RR
}

func (p *fileParser) parse(lr *lineReader) (*Zone, error) {
	zp := dns.NewZoneParser(lr, p.origin, p.file)
	line := 0
	for {
		nl, off := lr.lines, lr.off
		rr, ok := zp.Next()
		if !ok {
			break
		}
		if lr.off != off { // a $GENERATE line yields several records without reading
			line = p.startLine(nl, lr.lines)
		}
		if err := p.add(rr, line); err != nil {
			return nil, err
		}
	}
	if err := zp.Err(); err != nil {
		msg, line := parseErrorText(err, p.file)
		return nil, &Error{Kind: KindInvalid, File: p.file, Line: line, Msg: msg}
	}
	if p.soaLine == 0 {
		return nil, &Error{Kind: KindInvalid, Field: "type", File: p.file, Msg: "no SOA record at the zone apex " + p.origin}
	}
	if !p.apexNS {
		return nil, &Error{Kind: KindInvalid, Field: "type", File: p.file, Msg: "no NS record at the zone apex " + p.origin}
	}
	SortRecords(p.records)
	return &Zone{Origin: p.origin, Records: p.records}, nil
}

// startLine finds the line a record began on, given how many newlines the
// lexer had consumed before and after reading it: the first line in that
// range that is not blank, a comment or a directive.
func (p *fileParser) startLine(before, after int) int {
	for i := before; i <= after && i < len(p.lines); i++ {
		t := strings.TrimSpace(p.lines[i])
		if t == "" || t[0] == ';' {
			continue
		}
		if t[0] == '$' && !strings.HasPrefix(strings.ToUpper(t), "$GENERATE") {
			continue
		}
		return i + 1
	}
	return before + 1
}

// add validates one record against the file so far and keeps it.
func (p *fileParser) add(rr dns.RR, line int) error {
	if err := p.check(rr, line); err != nil {
		if e, ok := err.(*Error); ok {
			e.File, e.Line = p.file, line
		}
		return err
	}
	p.records = append(p.records, rr)
	return nil
}

func (p *fileParser) check(rr dns.RR, line int) error {
	h := rr.Header()
	name, err := canonName("name", h.Name)
	if err != nil {
		return err
	}
	if !zoneContains(p.origin, name) {
		return Invalid("name", "%s is outside zone %s", name, p.origin)
	}
	h.Name = name
	if err := checkRR(rr); err != nil {
		return err
	}
	if err := p.checkApex(rr, line); err != nil {
		return err
	}
	if err := p.checkSet(rr, line); err != nil {
		return err
	}
	return p.checkCNAME(rr, line)
}

// checkApex enforces a single SOA, at the apex, and notes an apex NS.
func (p *fileParser) checkApex(rr dns.RR, line int) error {
	h := rr.Header()
	switch {
	case h.Rrtype == dns.TypeNS && h.Name == p.origin:
		p.apexNS = true
	case h.Rrtype != dns.TypeSOA:
	case h.Name != p.origin:
		return Invalid("type", "SOA record at %s: the only SOA belongs at the zone apex %s", h.Name, p.origin)
	case p.soaLine != 0:
		return Invalid("type", "second SOA record (the first is at line %d)", p.soaLine)
	default:
		p.soaLine = line
	}
	return nil
}

// checkSet refuses duplicate records and RRsets with mixed TTLs, which
// RFC 2181 §5.2 deprecates and AddRecord never produces.
func (p *fileParser) checkSet(rr dns.RR, line int) error {
	k := string(setKey(rr.Header().Name, rr.Header().Rrtype))
	for _, o := range p.sets[k] {
		if dns.IsDuplicate(o.rr, rr) {
			return Invalid("data", "duplicate record (also at line %d)", o.line)
		}
		if o.rr.Header().Ttl != rr.Header().Ttl {
			return Invalid("ttl", "TTL %d differs from TTL %d of the same RRset at line %d (RFC 2181 §5.2)",
				rr.Header().Ttl, o.rr.Header().Ttl, o.line)
		}
	}
	p.sets[k] = append(p.sets[k], lineRR{rr, line})
	return nil
}

func (p *fileParser) checkCNAME(rr dns.RR, line int) error {
	h := rr.Header()
	o := p.owners[h.Name]
	if o == nil {
		o = &ownerTypes{}
		p.owners[h.Name] = o
	}
	if h.Rrtype == dns.TypeCNAME {
		if o.cname != 0 {
			return Invalid("type", "%s has a second CNAME (the first is at line %d)", h.Name, o.cname)
		}
		if o.other != 0 {
			return Invalid("type", "CNAME at %s cannot coexist with its %s record at line %d", h.Name, dns.Type(o.otherType), o.other)
		}
		o.cname = line
		return nil
	}
	if o.cname != 0 {
		return Invalid("type", "%s at %s cannot coexist with its CNAME at line %d", dns.Type(h.Rrtype), h.Name, o.cname)
	}
	if o.other == 0 {
		o.other, o.otherType = line, h.Rrtype
	}
	return nil
}

// lineReader feeds the zone parser byte by byte (it uses io.ByteReader
// directly when offered, without read-ahead) and counts the newlines it
// has consumed, which is how ParseZoneFile learns each record's line:
// dns.ZoneParser does not report positions of successful records.
type lineReader struct {
	buf   []byte
	off   int
	lines int
}

func (r *lineReader) ReadByte() (byte, error) {
	if r.off >= len(r.buf) {
		return 0, io.EOF
	}
	c := r.buf[r.off]
	r.off++
	if c == '\n' {
		r.lines++
	}
	return c, nil
}

func (r *lineReader) Read(p []byte) (int, error) {
	if r.off >= len(r.buf) {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.off < len(r.buf) {
		p[n], _ = r.ReadByte()
		n++
	}
	return n, nil
}
