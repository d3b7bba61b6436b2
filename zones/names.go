package zones

import (
	"strings"

	"github.com/miekg/dns"
)

// maxNameWire is the RFC 1035 limit on a name's wire length, in octets.
const maxNameWire = 255

// canonName validates a user-supplied domain name and returns the single
// spelling the store uses for it: fully qualified, lower-case, and with
// escapes normalised (so "\065.example.com" and "a.example.com" are one
// name). Errors name field, so the caller decides which input is blamed.
func canonName(field, name string) (string, error) {
	raw := strings.TrimSpace(name)
	if raw == "" {
		return "", Invalid(field, "a domain name is required")
	}
	if err := checkNameChars(field, raw); err != nil {
		return "", err
	}
	fq := dns.Fqdn(raw)
	if _, ok := dns.IsDomainName(fq); !ok {
		return "", Invalid(field, "%q is not a valid domain name: %s", raw, whyInvalidName(fq))
	}
	buf := make([]byte, maxNameWire+1)
	off, err := dns.PackDomainName(fq, buf, 0, nil, false)
	if err != nil {
		return "", Invalid(field, "%q is not a valid domain name: %v", raw, err)
	}
	norm, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return "", Invalid(field, "%q is not a valid domain name: %v", raw, err)
	}
	return asciiLower(norm), nil
}

// checkNameChars refuses input that is almost certainly a typing mistake
// rather than an intended escape: whitespace, control bytes and raw UTF-8
// (internationalised names belong in their xn-- form).
func checkNameChars(field, raw string) error {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '\\':
			i++ // an escaped character is deliberate
		case c >= 0x80:
			return Invalid(field, "%q is not ASCII; use the punycode (xn--) form", raw)
		case c <= ' ' || c == 0x7f:
			return Invalid(field, "%q contains whitespace or a control character", raw)
		}
	}
	return nil
}

// whyInvalidName explains why dns.IsDomainName refused fq, so the user
// gets a reason instead of a bare "invalid".
func whyInvalidName(fq string) string {
	if strings.HasPrefix(fq, ".") || strings.Contains(fq, "..") {
		return "empty label"
	}
	wire := 1
	for _, l := range dns.SplitDomainName(fq) {
		n := len(decodeLabel(l))
		if n > 63 {
			return "label " + l + " is longer than 63 octets"
		}
		wire += n + 1
	}
	if wire > maxNameWire {
		return "name is longer than 255 octets"
	}
	return "bad escape or label"
}

// decodeLabel turns one presentation-format label into its raw octets,
// resolving \DDD and \X escapes.
func decodeLabel(l string) []byte {
	out := make([]byte, 0, len(l))
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '\\' || i+1 >= len(l) {
			out = append(out, c)
			continue
		}
		if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
			v := int(l[i+1]-'0')*100 + int(l[i+2]-'0')*10 + int(l[i+3]-'0')
			out = append(out, byte(v))
			i += 3
			continue
		}
		out = append(out, l[i+1])
		i++
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// asciiLower lower-cases A-Z only: DNS case-insensitivity is ASCII-only
// (RFC 4343), and presentation text is ASCII anyway.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// zoneContains reports whether name is origin or below it.
func zoneContains(origin, name string) bool {
	return dns.IsSubDomain(origin, name)
}

// parentNames lists name and each of its ancestors, longest first, ending
// with the root: the order in which to look for the zone holding name.
func parentNames(name string) []string {
	if name == "." {
		return []string{"."}
	}
	idx := dns.Split(name)
	out := make([]string, 0, len(idx)+1)
	for _, i := range idx {
		out = append(out, name[i:])
	}
	return append(out, ".")
}
