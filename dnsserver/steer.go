package dnsserver

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/zones"
)

// Hash policy key lengths: clients in one /24 (IPv4) or /56 (IPv6) share a
// site, the usual size of one customer network.
const (
	hashBits4 = 24
	hashBits6 = 56
)

// Decision is the outcome of steering one query, with the reasons that
// `lbdns explain` prints. The server and explain both come from steer.
type Decision struct {
	Service  string       `json:"service"`
	Policy   string       `json:"policy"`
	Client   netip.Addr   `json:"client"`
	Location geo.Location `json:"location"`
	Place    string       `json:"place,omitempty"` // the client's GeoIP record in words (explain only)
	Located  bool         `json:"located"`
	Network  netip.Prefix `json:"network"` // what decided: GeoIP network, CIDR-map entry or hash prefix
	Scope    int          `json:"scope"`   // ECS scope prefix length for the reply
	TTL      uint32       `json:"ttl"`
	Addrs    []netip.Addr `json:"addrs"`
	Fallback string       `json:"fallback,omitempty"` // set when no site was up
	Sites    []SiteReport `json:"sites,omitempty"`    // only when explaining
}

// SiteReport says how one site fared in a decision.
type SiteReport struct {
	Name       string     `json:"name"`
	State      SiteStatus `json:"state"`
	Weight     int        `json:"weight"`
	Priority   int        `json:"priority"`
	DistanceKm float64    `json:"distance_km"` // -1 when unknown
	Chosen     bool       `json:"chosen"`
	Why        string     `json:"why"`
}

// steerer carries one decision's working state.
type steerer struct {
	svc     *lbService
	fam     int
	client  netip.Addr
	geo     *geo.DB
	cands   []int     // site indices, in answer order once ordered
	rank    []float64 // by site index: the policy's sort key
	explain bool
	d       Decision

	// Backing arrays, so a decision over a few sites allocates only the
	// steerer itself.
	candBuf [16]int
	rankBuf [16]float64
	addrBuf [8]netip.Addr
}

// steer chooses the addresses svc answers for client in family fam
// (0 IPv4, 1 IPv6).
func (svc *lbService) steer(client netip.Addr, fam int, db *geo.DB, explain bool) Decision {
	st := &steerer{svc: svc, fam: fam, client: client.Unmap(), geo: db, explain: explain}
	st.d = Decision{Service: svc.name, Policy: svc.policy, Client: st.client, TTL: svc.ttl}
	st.cands, st.d.Addrs = st.candBuf[:0], st.addrBuf[:0]
	if len(svc.sites) <= len(st.rankBuf) {
		st.rank = st.rankBuf[:len(svc.sites)]
	} else {
		st.rank = make([]float64, len(svc.sites))
	}
	for i, s := range svc.sites {
		if s.state.Up && len(s.vips[fam]) > 0 {
			st.cands = append(st.cands, i)
		}
	}
	if len(st.cands) == 0 && !st.fallBack() {
		st.report()
		return st.d
	}
	switch svc.policy {
	case zones.PolicyGeo:
		st.geoOrder()
	case zones.PolicyWeighted:
		st.weightedOrder()
	case zones.PolicyFailover:
		st.failoverOrder()
	case zones.PolicyHash:
		st.hashOrder()
	default: // all: every candidate, in order; collect rotates them
	}
	if client.Is4In6() && st.d.Network.IsValid() {
		// Steered as IPv4; the scope answers an IPv6 ECS option.
		st.d.Scope += 96
	}
	st.collect()
	st.report()
	return st.d
}

// fallBack applies the service's fallback when no site is up. It reports
// whether steering should go on over the fallback candidates.
func (st *steerer) fallBack() bool {
	svc := st.svc
	for _, s := range svc.sites {
		if s.state.Up {
			// A site is up, only not in this family: the name simply has
			// no such address now (NODATA), which is no reason to fail open
			// to sites that are down.
			return false
		}
	}
	for i, s := range svc.sites {
		if len(s.vips[st.fam]) > 0 {
			st.cands = append(st.cands, i)
		}
	}
	if len(st.cands) == 0 {
		return false // no VIP of this family at all: NODATA
	}
	st.d.Fallback = svc.fallback
	switch svc.fallback {
	case zones.FallbackAll:
		return true // fail open: steer as if every site were up
	case zones.FallbackSorry:
		st.d.Addrs = svc.sorry[st.fam]
	}
	st.cands = nil
	return false
}

// geoOrder puts the CIDR-map site first, then the nearest; an unlocated
// client gets priority, then weight order.
func (st *steerer) geoOrder() {
	svc := st.svc
	entry, mapped := svc.clients.Lookup(st.client)
	// A mapped site that is down or has no VIP of this family decides
	// nothing: distance does, over the GeoIP network.
	mapped = mapped && slices.Contains(st.cands, entry.Value)
	loc, network, _ := st.geo.Lookup(st.client)
	if st.geo == nil {
		network = netip.PrefixFrom(st.client, 0)
	}
	st.d.Location, st.d.Located = loc, loc.Known()
	ranks := svc.ranks.get(network, loc, svc.sites)
	for _, i := range st.cands {
		st.rank[i] = ranks[i]
	}
	decided := network
	if mapped && (len(svc.sites[entry.Value].vips[st.fam]) >= svc.answers || entry.Prefix.Bits() > network.Bits()) {
		// The mapped site fills the answer alone, or its entry lies inside
		// the GeoIP network. Otherwise the answers after the mapped site's
		// depend on the location too, and the narrower GeoIP network decided.
		decided = entry.Prefix
	}
	st.d.Network = decided
	st.d.Scope = svc.clients.Scope(st.client, decided)
	slices.SortStableFunc(st.cands, func(a, b int) int {
		if mapped && (a == entry.Value) != (b == entry.Value) {
			if a == entry.Value {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(st.rank[a], st.rank[b]), st.byPriority(a, b))
	})
}

// byPriority orders by priority (lower first), then weight (higher first).
func (st *steerer) byPriority(a, b int) int {
	sa, sb := &st.svc.sites[a], &st.svc.sites[b]
	return cmp.Or(cmp.Compare(sa.priority, sb.priority), cmp.Compare(sb.weight, sa.weight))
}

// failoverOrder keeps only the up sites with the lowest priority value.
func (st *steerer) failoverOrder() {
	slices.SortStableFunc(st.cands, st.byPriority)
	best := st.svc.sites[st.cands[0]].priority
	n := 0
	for n < len(st.cands) && st.svc.sites[st.cands[n]].priority == best {
		n++
	}
	st.cands = st.cands[:n]
}

// weightedOrder draws sites without replacement in proportion to weight;
// when every candidate weighs 0 (a standby left alone), they draw as equals.
func (st *steerer) weightedOrder() {
	weight := func(i int) int { return st.svc.sites[i].weight }
	pool := st.positiveWeights()
	if len(pool) == len(st.cands) && weight(pool[0]) == 0 {
		weight = func(int) int { return 1 }
	}
	out := st.cands[:0:0]
	for len(pool) > 0 && len(out) < st.svc.answers {
		total := 0
		for _, i := range pool {
			total += weight(i)
		}
		r := rand.IntN(total)
		for k, i := range pool {
			if r -= weight(i); r < 0 {
				out = append(out, i)
				pool = append(pool[:k:k], pool[k+1:]...)
				break
			}
		}
	}
	st.cands = out
}

// positiveWeights returns the candidates with weight > 0, or all of them
// when every weight is 0.
func (st *steerer) positiveWeights() []int {
	var pool []int
	for _, i := range st.cands {
		if st.svc.sites[i].weight > 0 {
			pool = append(pool, i)
		}
	}
	if len(pool) == 0 {
		pool = append(pool, st.cands...)
	}
	return pool
}

// hashOrder ranks sites by weighted rendezvous hashing of the client's
// network: the same network keeps its site while the site is up, and
// removing a site moves only that site's clients.
func (st *steerer) hashOrder() {
	bits := hashBits4
	if st.client.Is6() {
		bits = hashBits6
	}
	key := netip.PrefixFrom(st.client, bits).Masked()
	st.d.Network, st.d.Scope = key, bits
	kb, _ := key.Addr().MarshalBinary()
	for _, i := range st.cands {
		w := float64(st.svc.sites[i].weight)
		if w <= 0 {
			w = 1e-9 // last resort only
		}
		st.rank[i] = -math.Log(unitHash(kb, st.svc.sites[i].name)) / w
	}
	slices.SortStableFunc(st.cands, func(a, b int) int { return cmp.Compare(st.rank[a], st.rank[b]) })
}

// unitHash maps (key, site) to a stable number in (0, 1).
func unitHash(key []byte, site string) float64 {
	h := fnv.New64a()
	h.Write(key)
	h.Write([]byte{0})
	h.Write([]byte(site))
	// FNV-1a barely changes its high bits for a change in the last bytes
	// (site names differing in one letter), and those are the bits kept
	// below: finish with MurmurHash3's fmix64 so every input bit reaches
	// every output bit.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	v := x >> 11
	return (float64(v) + 0.5) / (1 << 53)
}

// collect takes addresses from the ordered sites, up to the answer count
// (all of them, rotated, for the "all" policy).
func (st *steerer) collect() {
	for _, i := range st.cands {
		for _, a := range st.svc.sites[i].vips[st.fam] {
			if st.svc.policy != zones.PolicyAll && len(st.d.Addrs) >= st.svc.answers {
				return
			}
			st.d.Addrs = append(st.d.Addrs, a)
		}
	}
	if st.svc.policy == zones.PolicyAll && len(st.d.Addrs) > 1 {
		turn := st.svc.rotate.Load() // explain shows the next answer without taking a turn
		if !st.explain {
			turn = st.svc.rotate.Add(1)
		}
		n := int(turn % uint32(len(st.d.Addrs)))
		st.d.Addrs = append(st.d.Addrs[n:], st.d.Addrs[:n]...)
	}
}

// rankSlots is how many GeoIP networks a service remembers site ranks for.
const rankSlots = 512

// rankCache remembers, per GeoIP network, every site's distance rank for
// clients there: computing them is most of a geo answer's cost, and
// clients come from far fewer networks than addresses. Lock-free: a slot
// holds an immutable entry, replaced whole on a miss. A service's cache
// lives as long as its compiled form, so it never outlives a site change.
type rankCache struct {
	slots [rankSlots]atomic.Pointer[rankEntry]
}

type rankEntry struct {
	network netip.Prefix
	loc     geo.Location
	ranks   []float64 // by site index; +Inf when unknown
}

// get returns the sites' ranks for a client located at loc in network.
func (c *rankCache) get(network netip.Prefix, loc geo.Location, sites []lbSite) []float64 {
	network = network.Masked()
	slot := &c.slots[prefixHash(network)%rankSlots]
	if e := slot.Load(); e != nil && e.network == network && e.loc == loc {
		return e.ranks
	}
	e := &rankEntry{network: network, loc: loc, ranks: make([]float64, len(sites))}
	for i := range sites {
		r, ok := geo.Rank(loc, sites[i].loc)
		if !ok {
			r = math.Inf(1)
		}
		e.ranks[i] = r
	}
	slot.Store(e)
	return e.ranks
}

// prefixHash mixes a prefix's address and length into a slot number.
func prefixHash(p netip.Prefix) uint64 {
	a := p.Addr().As16()
	h := binary.BigEndian.Uint64(a[:8]) ^ binary.BigEndian.Uint64(a[8:])*0x9E3779B97F4A7C15
	h ^= uint64(p.Bits()) << 56
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return h ^ h>>32
}
