package zones

import "strings"

// emailToRName converts a contact address to SOA RNAME form (RFC 1035
// §8): the '@' becomes a label separator and dots in the local part are
// escaped so they do not.
func emailToRName(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", Invalid("email", "a contact email is required")
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return "", Invalid("email", "%q is not an address like hostmaster@example.com", email)
	}
	local, domain := email[:at], email[at+1:]
	if !validLocalPart(local) {
		return "", Invalid("email", "%q: the local part may hold letters, digits, '-', '_', '+' and single inner dots", email)
	}
	d, err := canonName("email", domain)
	if err != nil {
		return "", Invalid("email", "%q: bad domain: %s", email, err.(*Error).Msg)
	}
	rname, err := canonName("email", strings.ReplaceAll(local, ".", `\.`)+"."+d)
	if err != nil {
		return "", Invalid("email", "%q does not fit in a domain name: %s", email, err.(*Error).Msg)
	}
	return rname, nil
}

// validLocalPart keeps to characters that need no escaping in a label
// besides the dot, which emailToRName escapes.
func validLocalPart(s string) bool {
	if strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '+' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// rnameToEmail reverses emailToRName for display: the first unescaped dot
// becomes '@', escapes are resolved and the trailing dot dropped.
func rnameToEmail(rname string) string {
	if rname == "." {
		return "" // RFC 1035 allows a root RNAME: no contact given
	}
	var b strings.Builder
	seenAt := false
	for i := 0; i < len(rname); i++ {
		c := rname[i]
		switch {
		case c == '\\' && i+1 < len(rname):
			if i+3 < len(rname) && isDigit(rname[i+1]) && isDigit(rname[i+2]) && isDigit(rname[i+3]) {
				b.WriteByte(decodeLabel(rname[i : i+4])[0])
				i += 3
			} else {
				b.WriteByte(rname[i+1])
				i++
			}
		case c == '.' && !seenAt:
			b.WriteByte('@')
			seenAt = true
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSuffix(b.String(), ".")
}
