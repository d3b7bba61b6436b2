package zones

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ServiceFile is the document `lbdns service apply -f` reads.
type ServiceFile struct {
	Services []Service `yaml:"services"`
}

// ParseServices decodes a service file and validates every service in it.
// Unknown fields are refused. Errors are *Error with the file, the line and
// the field path (services[0].sites[1].vips[0]).
func ParseServices(filename, text string) ([]Service, error) {
	svcs, _, err := parseServiceFile(filename, text)
	return svcs, err
}

// parseServiceFile is ParseServices, also returning the line of every field
// path so later checks against the store can point at the right line.
func parseServiceFile(filename, text string) ([]Service, map[string]int, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		return nil, nil, yamlError(filename, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	dec.KnownFields(true)
	var f ServiceFile
	// An empty document (or one holding only comments) decodes to io.EOF;
	// it is a file with no services, reported as such below.
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, withPath(yamlError(filename, err), nodeLines(&root))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, nil, &Error{Kind: KindInvalid, File: filename, Line: more.Line,
			Msg: "a service file holds one YAML document; list every service under one services: key"}
	}
	if len(f.Services) == 0 {
		return nil, nil, &Error{Kind: KindInvalid, File: filename, Field: "services", Msg: "no services in the file"}
	}
	lines := nodeLines(&root)
	seen := map[string]int{}
	for i := range f.Services {
		path := fmt.Sprintf("services[%d]", i)
		if err := ValidateService(&f.Services[i]); err != nil {
			return nil, nil, locate(err, filename, path, lines)
		}
		if j, dup := seen[f.Services[i].Name]; dup {
			e := Invalid("name", "%s is also services[%d]", f.Services[i].Name, j)
			return nil, nil, locate(e, filename, path, lines)
		}
		seen[f.Services[i].Name] = i
	}
	return f.Services, lines, nil
}

// MarshalServices renders services as a service file; it round-trips
// through ParseServices.
func MarshalServices(svcs []Service) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(ServiceFile{Services: svcs}); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns a YAML syntax or type error into an *Error with its line.
func yamlError(filename string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	e := &Error{Kind: KindInvalid, File: filename, Msg: strings.TrimPrefix(msg, "yaml: ")}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	return e
}

var unknownField = regexp.MustCompile(`^field (\S+) not found`)

// withPath names the field path of a decode error on a known line, such
// as an unknown field, which the YAML library reports by line only.
func withPath(err error, lines map[string]int) error {
	var e *Error
	if !errors.As(err, &e) || e.Line == 0 {
		return err
	}
	m := unknownField.FindStringSubmatch(e.Msg)
	best := ""
	for p, l := range lines {
		if l != e.Line {
			continue
		}
		if m != nil && strings.HasSuffix(p, "."+m[1]) {
			best = p
			break
		}
		if len(p) > len(best) {
			best = p
		}
	}
	e.Field = best
	return e
}

// locate prefixes a validation error's field with the service's path and
// finds the line that field is on.
func locate(err error, filename, path string, lines map[string]int) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	out.File = filename
	out.Field = path
	if e.Field != "" {
		out.Field = path + "." + e.Field
	}
	for p := out.Field; p != ""; p = parentPath(p) {
		if l, ok := lines[p]; ok {
			out.Line = l
			break
		}
	}
	return &out
}

// parentPath drops the last element of a field path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// nodeLines maps every field path in the document to its line.
func nodeLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				lines[p] = n.Content[i].Line
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				lines[p] = c.Line
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return lines
}
