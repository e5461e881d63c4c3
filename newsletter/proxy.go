package newsletter

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/assocrm/assocrm/crm"
)

// WithTrustedProxies names the reverse proxies (nginx, Caddy, a load
// balancer) in front of the handler, as CIDR ranges ("127.0.0.1/32",
// "10.0.0.0/8", "::1/128") or single addresses. Only for a request whose
// direct peer is in one of them are X-Forwarded-For and X-Forwarded-Proto
// read: the client is the rightmost address of X-Forwarded-For that is
// not itself a trusted proxy (the addresses to its left were written by
// whoever sent the request, and anyone can write anything there), and
// that address is the one the per-IP signup limit counts and WithRecordIP
// records. Without this option, or for a peer outside the ranges, both
// headers are ignored: behind no proxy, trusting them would let anyone
// choose their address.
func WithTrustedProxies(cidrs ...string) HandlerOption {
	return func(h *handler) error {
		ps, err := ParseTrustedProxies(cidrs...)
		h.trusted = append(h.trusted, ps...)
		return err
	}
}

// ParseTrustedProxies checks the ranges WithTrustedProxies takes and
// returns them as prefixes; a program checks its flags with it before it
// does anything else. A value that is no range or address is a
// *crm.ValidationError (field "trusted proxy"), and so is a range of
// every address (0.0.0.0/0, ::/0): see below.
func ParseTrustedProxies(cidrs ...string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, &crm.ValidationError{Field: "trusted proxy", Value: c, Reason: "want a range such as 127.0.0.1/32 or 10.0.0.0/8, or an address"}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p.Bits() == 0 {
			// Refused rather than warned about: with every address a
			// proxy, the walk along X-Forwarded-For never meets a client
			// and ends on its leftmost entry, which the client wrote
			// itself. Anyone could then choose their address, behind a
			// real proxy too, so no setup is served by it; a platform
			// whose proxy addresses are unknown names its private range.
			return nil, &crm.ValidationError{Field: "trusted proxy", Value: c, Reason: "trusts every address, so anyone could " +
				"choose the IP address counted and recorded; name your proxy's address or range (127.0.0.1/32, 10.0.0.0/8)"}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// trustedPeer reports whether a is one of the trusted proxies.
func (h *handler) trustedPeer(a netip.Addr) bool {
	for _, p := range h.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one address of X-Forwarded-For or RemoteAddr: a bare
// address, or one with a port ("1.2.3.4:80", "[::1]:80").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// fromProxy returns r as the trusted proxy in front of it saw it: the
// client's address as RemoteAddr and the scheme the client used as
// r.URL.Scheme. A request whose peer is not a trusted proxy is returned
// as it is.
func (h *handler) fromProxy(r *http.Request) *http.Request {
	if len(h.trusted) == 0 {
		return r
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, ok := parseHop(host)
	if !ok || !h.trustedPeer(peer) {
		return r
	}
	client := peer
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	// From the right: each trusted proxy appended the address it saw.
	// The first one that is no trusted proxy is the client; an entry that
	// is no address means a proxy wrote something odd, and the last
	// proxy known is the best answer.
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !h.trustedPeer(a) {
			break
		}
	}
	out := r.Clone(r.Context())
	out.RemoteAddr = client.String()
	if p := r.Header.Values("X-Forwarded-Proto"); len(p) > 0 {
		last := p[len(p)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if s := strings.ToLower(strings.TrimSpace(last)); s == "http" || s == "https" {
			out.URL.Scheme = s
		}
	}
	return out
}
