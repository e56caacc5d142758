package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// What keeps web pages other than the explorer from using the server: the
// Host names it answers to (DNS rebinding), the origins whose /v1 requests it
// takes (cross-site requests), and the headers of every response.

// securityHeaders are set on every response. The explorer has no inline
// script or style and fetches nothing from elsewhere, so the policy can be
// strict; data: images are its favicon.
var securityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
}

// hostGuard decides which Host headers the server answers, from
// Options.AllowedHosts.
type hostGuard struct {
	any   bool     // "*" is among them: every Host
	names []string // lower case, without port or brackets
}

func newHostGuard(allowed []string) (hostGuard, error) {
	var g hostGuard
	for _, a := range allowed {
		if a == "*" {
			g.any = true
			continue
		}
		name := hostName(a)
		if name == "" || strings.ContainsAny(a, "/ @?#") {
			return hostGuard{}, fmt.Errorf("allowed host %q: want a host name or address without a scheme or path, e.g. vae.example or 192.168.1.5", a)
		}
		g.names = append(g.names, name)
	}
	return g, nil
}

// hostName returns the host of a Host header or host[:port], lower case,
// without the port, the brackets of an IPv6 address or a final dot.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// isLoopbackName reports whether host (see hostName) can only mean this
// machine: localhost, a name under .localhost (RFC 6761), or a loopback
// address.
func isLoopbackName(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// check refuses a request whose Host header names none of the server's
// names. A loopback name is always accepted. With no allowed hosts, a
// request that arrived on a loopback address must name a loopback host (a
// page whose own name was made to resolve to 127.0.0.1, DNS rebinding, must
// not read the API), and one that arrived elsewhere may name any: the server
// cannot know the names it is reached by.
func (g hostGuard) check(r *http.Request) *apiError {
	host := hostName(r.Host)
	if g.any || r.Host == "" || isLoopbackName(host) || slices.Contains(g.names, host) {
		return nil
	}
	if len(g.names) == 0 {
		local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !ok || !isLoopbackAddr(local) {
			return nil
		}
	}
	return &apiError{Status: http.StatusForbidden, Field: "Host", Message: fmt.Sprintf(
		"%q is not a name of this server; it answers to localhost, 127.0.0.1 and [::1]%s (add a name with --allow-host, Options.AllowedHosts)",
		r.Host, g.also())}
}

func (g hostGuard) also() string {
	if len(g.names) == 0 {
		return ""
	}
	return " and " + strings.Join(g.names, ", ")
}

func isLoopbackAddr(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// checkSite refuses a /v1 request that a browser sent from a page of
// another origin: one it marks cross-site or same-site (Sec-Fetch-Site), or
// whose Origin is neither this server (the Host it was sent to) nor one of
// the allowed hosts. Other clients send neither header.
func (g hostGuard) checkSite(r *http.Request) *apiError {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return &apiError{Status: http.StatusForbidden, Field: "Sec-Fetch-Site", Message: fmt.Sprintf(
			"%s: the browser sent this request from another site's page; the API answers only the explorer it serves", site)}
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		(strings.EqualFold(u.Host, r.Host) || slices.Contains(g.names, hostName(u.Host))) {
		return nil
	}
	return &apiError{Status: http.StatusForbidden, Field: "Origin", Message: fmt.Sprintf(
		"%q is not this server's origin (http://%s); the API answers only the explorer it serves", origin, r.Host)}
}

// bearerToken returns the credentials of an "Authorization: Bearer TOKEN"
// header; the scheme is case-insensitive (RFC 7235).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}
