package dnsserver

import (
	"hash/maphash"

	"github.com/miekg/dns"
)

// nodeShards splits a zone's names so that a change copies one shard, not
// the whole zone: with a million names a shard holds about 4,000.
const nodeShards = 256

var shardSeed = maphash.MakeSeed()

// nodeTable maps lower-case owner names to nodes. It is immutable once
// built; with returns a new table sharing every shard it did not touch.
type nodeTable struct {
	shards [nodeShards]map[string]*node
	count  int
}

func shardOf(name string) int { return int(maphash.String(shardSeed, name) % nodeShards) }

func (t *nodeTable) get(name string) *node { return t.shards[shardOf(name)][name] }

// builder edits a copy of a table, cloning each shard on first write.
type builder struct {
	t      *nodeTable
	cloned [nodeShards]bool
}

func newBuilder(from *nodeTable) *builder {
	b := &builder{t: &nodeTable{}}
	if from != nil {
		*b.t = *from
	}
	return b
}

func (b *builder) shard(name string) map[string]*node {
	i := shardOf(name)
	if !b.cloned[i] {
		m := make(map[string]*node, len(b.t.shards[i])+1)
		for k, v := range b.t.shards[i] {
			m[k] = v
		}
		b.t.shards[i], b.cloned[i] = m, true
	}
	return b.t.shards[i]
}

func (b *builder) get(name string) *node { return b.t.get(name) }

func (b *builder) put(n *node) {
	s := b.shard(n.name)
	if _, ok := s[n.name]; !ok {
		b.t.count++
	}
	s[n.name] = n
}

func (b *builder) del(name string) {
	s := b.shard(name)
	if _, ok := s[name]; ok {
		b.t.count--
		delete(s, name)
	}
}

// node is one owner name: its RRsets by type, how many names sit directly
// below it (so an empty node with children is an empty non-terminal, and
// one without is removed), and flags the lookup needs.
type node struct {
	name     string
	sets     []rrset
	children int32
	cut      bool // a delegation point: NS below the apex
	lb       bool // a load-balanced service: A/AAAA are steered
}

type rrset struct {
	typ uint16
	rrs []dns.RR
}

// get returns the RRset of type t, or nil.
func (n *node) get(t uint16) []dns.RR {
	for i := range n.sets {
		if n.sets[i].typ == t {
			return n.sets[i].rrs
		}
	}
	return nil
}

// empty reports whether the node holds nothing of its own.
func (n *node) empty() bool { return len(n.sets) == 0 && !n.lb }

// withRecords returns a copy of n holding exactly rrs, in type order.
func (n *node) withRecords(rrs []dns.RR, origin string) *node {
	c := *n
	c.sets = nil
	for _, rr := range rrs {
		rr = prepack(rr)
		t := rr.Header().Rrtype
		i := 0
		for i < len(c.sets) && c.sets[i].typ < t {
			i++
		}
		if i == len(c.sets) || c.sets[i].typ != t {
			c.sets = append(c.sets, rrset{})
			copy(c.sets[i+1:], c.sets[i:])
			c.sets[i] = rrset{typ: t}
		}
		c.sets[i].rrs = append(c.sets[i].rrs, rr)
	}
	c.cut = c.name != origin && c.get(dns.TypeNS) != nil
	return &c
}
