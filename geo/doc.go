// Package geo turns a client address into a location, orders sites by how
// near they are to it, and works out how widely an answer may be cached
// (the EDNS Client Subnet scope).
//
// It knows nothing about DNS messages: callers hand it a netip.Addr (the ECS
// address, or the resolver's) and get back plain values. Everything on the
// query path — DB.Lookup, PrefixMap.Lookup, PrefixMap.Scope, Distance and
// Rank — takes no locks, so it can be called from every query goroutine at
// once; the only mutable state, the current GeoIP reader, sits behind an
// atomic.Pointer that Reload swaps.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, which a dual-stack socket
// reports for IPv4 clients) are treated as the IPv4 addresses they carry
// everywhere in this package.
package geo
