package kerberos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/auth/internal/sasl"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// DefaultServiceName is the service part of the server's Kerberos principal
// (service/host@REALM) when Config.ServiceName is empty. It is "dse",
// the default of the DataStax drivers, because DSE's DseAuthenticator is the
// server side these drivers speak GSSAPI to. Apache Cassandra has no
// Kerberos authenticator of its own; third-party plugins (and DSE
// installations that follow DataStax's Kerberos tutorial) often use
// "cassandra" instead: set ServiceName accordingly.
const DefaultServiceName = "dse"

// Config configures Kerberos logins (SASL GSSAPI, RFC 4752). It is
// plain data; New validates it and returns the authenticator.
//
// Credentials come from exactly one of Password, KeytabFile and CCacheFile;
// when none is set, from the default ticket cache: $KRB5CCNAME (a FILE:
// cache or a plain path) or else /tmp/krb5cc_<uid>, as MIT kinit leaves it.
type Config struct {
	// Principal is the client principal, "name@REALM" or "name" (the realm
	// is then krb5.conf's default_realm). Required with Password; with a
	// keytab it defaults to the keytab's first principal, with a ticket
	// cache to the cache's principal (and must match it when set).
	Principal string
	// Password logs in with the principal's password. Never printed.
	Password auth.Secret
	// KeytabFile logs in with the principal's key from this keytab.
	KeytabFile string
	// CCacheFile takes the ticket-granting ticket from this MIT ticket cache
	// (as written by kinit; "FILE:" prefix allowed). Such a ticket cannot be
	// renewed without a password: when it has expired the cache file is read
	// again (an external kinit or k5start may have refreshed it), and if
	// it is still expired Start fails with KRB_AP_ERR_TKT_EXPIRED.
	CCacheFile string

	// Krb5ConfigFile is the krb5.conf to use. Empty means $KRB5_CONFIG (a
	// colon-separated list of files, read in order and merged), else
	// /etc/krb5.conf.
	Krb5ConfigFile string

	// ServiceName is the service part of the server principal; empty means
	// DefaultServiceName ("dse").
	ServiceName string
	// ServiceHost, when set, is the host part of the server principal for
	// every node (e.g. one principal shared by a cluster). Empty means the
	// node's host name or IP address (ServerInfo.Host).
	ServiceHost string
	// CanonicalizeHost resolves the host part to its canonical name by
	// reverse DNS before building the principal (a host name is first
	// resolved to its address), as MIT's rdns setting and the DataStax
	// Python driver do. Off by default: principals then use the node's host
	// name or address as the driver knows it. When the lookup fails or finds
	// no name, the host is used as it is.
	CanonicalizeHost bool
	// Resolver is used by CanonicalizeHost; nil means net.DefaultResolver.
	Resolver *net.Resolver

	// AuthorizationID, when set, is the role to act as after logging in
	// (DSE proxy authentication). It is sent in the final, integrity
	// protected, SASL GSSAPI message.
	AuthorizationID string
	// DisableMutualAuth stops requesting mutual authentication. By default
	// the client requires the server's AP-REP, which proves that the server
	// holds the service key, before it sends anything else.
	DisableMutualAuth bool
	// AllowedAuthenticators, when not empty, restricts the server
	// authenticator classes this login may be sent to (see auth.Plain).
	AllowedAuthenticators []string
}

// credential sources
const (
	srcPassword = "password"
	srcKeytab   = "keytab"
	srcCCache   = "ticket cache"
)

// GSSAPI logs in with Kerberos. It keeps one Kerberos client (and its
// ticket-granting and service tickets) for all connections; it is safe for
// concurrent use. Close stops its background TGT renewal.
//
// The exchange, with S the server and C this client (AUTH_RESPONSE tokens
// from C, AUTH_CHALLENGE tokens from S):
//
//	(DSEAuthenticator only) C: "GSSAPI" (47 53 53 41 50 49)
//	                        S: "GSSAPI-START" (47 53 53 41 50 49 2d 53 54 41 52 54)
//	C: initial context token: 60 <DER length> 06 09 2a 86 48 86 f7 12 01 02 02
//	   (the Kerberos V5 mechanism OID) 01 00 (TOK_ID of KRB_AP_REQ) <AP-REQ>
//	   (RFC 2743 3.1, RFC 4121 4.1); the authenticator carries the GSS
//	   checksum (type 0x8003: length 16, no channel bindings, flags mutual
//	   (unless disabled) | conf | integ) and a fresh subkey.
//	S: with mutual authentication: 60 <len> <OID> 02 00 <AP-REP>, which C
//	   verifies (it must decrypt with the session key and echo the
//	   authenticator's time); C answers an empty token. Without it, a
//	   server may send an empty token first, which C answers with an empty
//	   token too.
//	S: an RFC 4121 wrap token (05 04 flags ff ...) without confidentiality
//	   whose 4-byte payload is the security layers the server offers (bit
//	   0x01: none, 0x02: integrity, 0x04: confidentiality) and its maximum
//	   message size (3 bytes, big-endian). C checks its checksum and that
//	   0x01 is offered.
//	C: a wrap token (flags 0x00, or 0x04 when the server chose a subkey;
//	   sequence number from C's authenticator) of the payload
//	   01 00 00 00 <authorization id, UTF-8, may be empty>: no security
//	   layer, maximum size 0.
//	S: AUTH_SUCCESS.
//
// Only AES session keys (enctypes 17, 18, 19, 20) are supported: older
// enctypes use RFC 1964 tokens, which this package does not implement.
type GSSAPI struct {
	cfg       Config
	krb5      *config.Config
	krb5Files string
	source    string
	principal string // display form, name@REALM
	name      string // name part
	realm     string
	keytab    *keytab.Keytab
	ccache    string // path

	st *krbState // shared, mutable: GSSAPI values are copied by its value methods
}

// krbState is the Kerberos client of a GSSAPI.
type krbState struct {
	sem chan struct{} // held while the Kerberos client is used
	// guarded by sem:
	cl       *client.Client
	loggedIn bool
	tgtEnd   time.Time // ccache only
	closed   bool
}

// New validates cfg, reads krb5.conf and the keytab or ticket cache,
// and returns the authenticator (an auth.Authenticator, for
// cluster.Config.Authenticator or conn.Config.Authenticator). It does not
// contact the KDC: the first Start logs in.
func New(cfg Config) (*GSSAPI, error) {
	g := &GSSAPI{cfg: cfg, st: &krbState{sem: make(chan struct{}, 1)}}
	g.cfg.AllowedAuthenticators = append([]string(nil), cfg.AllowedAuthenticators...)
	if g.cfg.ServiceName == "" {
		g.cfg.ServiceName = DefaultServiceName
	}
	if strings.ContainsAny(g.cfg.ServiceName, "/@") {
		return nil, fmt.Errorf("kerberos: ServiceName %q must not contain '/' or '@'", g.cfg.ServiceName)
	}
	if strings.ContainsAny(g.cfg.ServiceHost, "/@") {
		return nil, fmt.Errorf("kerberos: ServiceHost %q must not contain '/' or '@'", g.cfg.ServiceHost)
	}
	n := 0
	for _, set := range []bool{cfg.Password != "", cfg.KeytabFile != "", cfg.CCacheFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("kerberos: set only one of Password, KeytabFile and CCacheFile")
	}
	var err error
	if g.krb5, g.krb5Files, err = loadKrb5Conf(cfg.Krb5ConfigFile); err != nil {
		return nil, err
	}
	if cfg.Principal != "" {
		if err := g.setPrincipal(cfg.Principal); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.Password != "":
		g.source = srcPassword
		if cfg.Principal == "" {
			return nil, errors.New("kerberos: a password login needs Principal")
		}
	case cfg.KeytabFile != "":
		g.source = srcKeytab
		kt, err := keytab.Load(cfg.KeytabFile)
		if err != nil {
			return nil, fmt.Errorf("kerberos: reading keytab %s: %w", cfg.KeytabFile, err)
		}
		if len(kt.Entries) == 0 {
			return nil, fmt.Errorf("kerberos: keytab %s holds no key", cfg.KeytabFile)
		}
		if cfg.Principal == "" {
			p := kt.Entries[0].Principal
			g.name, g.realm = strings.Join(p.Components, "/"), p.Realm
			g.principal = g.name + "@" + g.realm
		}
		if !keytabHas(kt, g.name, g.realm) {
			return nil, fmt.Errorf("kerberos: keytab %s has no key for %s (it holds %s)", cfg.KeytabFile, g.principal, keytabPrincipals(kt))
		}
		g.keytab = kt
	default:
		g.source = srcCCache
		g.ccache = cfg.CCacheFile
		if g.ccache == "" {
			if g.ccache, err = defaultCCache(); err != nil {
				return nil, err
			}
		} else if g.ccache, err = ccachePath(g.ccache); err != nil {
			return nil, err
		}
		cc, err := credentials.LoadCCache(g.ccache)
		if err != nil {
			return nil, fmt.Errorf("kerberos: reading ticket cache %s (run kinit, or set Password or KeytabFile): %w", g.ccache, err)
		}
		owner := cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm
		if cfg.Principal != "" && owner != g.principal {
			return nil, fmt.Errorf("kerberos: ticket cache %s belongs to %s, not to %s", g.ccache, owner, g.principal)
		}
		g.name, g.realm, g.principal = cc.DefaultPrincipal.PrincipalName.PrincipalNameString(), cc.DefaultPrincipal.Realm, owner
	}
	return g, nil
}

func (g *GSSAPI) setPrincipal(p string) error {
	name, realm := p, ""
	if i := strings.LastIndexByte(p, '@'); i >= 0 {
		name, realm = p[:i], p[i+1:]
	}
	if realm == "" {
		realm = g.krb5.LibDefaults.DefaultRealm
	}
	if name == "" || realm == "" {
		return fmt.Errorf("kerberos: principal %q needs a name and a realm (none given, and no default_realm in %s)", p, g.krb5Files)
	}
	g.name, g.realm, g.principal = name, realm, name+"@"+realm
	return nil
}

// loadKrb5Conf reads krb5.conf: path, else $KRB5_CONFIG, else /etc/krb5.conf.
func loadKrb5Conf(path string) (*config.Config, string, error) {
	var files []string
	switch {
	case path != "":
		files = []string{path}
	case os.Getenv("KRB5_CONFIG") != "":
		files = filepath.SplitList(os.Getenv("KRB5_CONFIG"))
	default:
		files = []string{"/etc/krb5.conf"}
	}
	var text strings.Builder
	var read []string
	var firstErr error
	for _, f := range files {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		read = append(read, f)
		text.Write(b)
		text.WriteByte('\n')
	}
	name := strings.Join(files, ":")
	if len(read) == 0 {
		return nil, name, fmt.Errorf("kerberos: reading krb5.conf %s: %w", name, firstErr)
	}
	cfg, err := config.NewFromString(text.String())
	if err != nil {
		return nil, name, fmt.Errorf("kerberos: parsing krb5.conf %s: %w", name, err)
	}
	return cfg, strings.Join(read, ":"), nil
}

func ccachePath(s string) (string, error) {
	if i := strings.IndexByte(s, ':'); i > 0 && !strings.HasPrefix(s, "/") {
		typ := s[:i]
		if typ != "FILE" {
			return "", fmt.Errorf("kerberos: ticket cache %q: only FILE caches are supported, not %s", s, typ)
		}
		s = s[i+1:]
	}
	return s, nil
}

func defaultCCache() (string, error) {
	if v := os.Getenv("KRB5CCNAME"); v != "" {
		return ccachePath(v)
	}
	return fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()), nil
}

func keytabHas(kt *keytab.Keytab, name, realm string) bool {
	for _, e := range kt.Entries {
		if e.Principal.Realm == realm && strings.Join(e.Principal.Components, "/") == name {
			return true
		}
	}
	return false
}

func keytabPrincipals(kt *keytab.Keytab) string {
	var names []string
	seen := map[string]bool{}
	for _, e := range kt.Entries {
		s := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	return strings.Join(names, ", ")
}

// Principal returns the client principal, name@REALM.
func (g *GSSAPI) Principal() string { return g.principal }

// sourceDesc says where the credentials come from: "password",
// "keytab <file>" or "ticket cache <file>".
func (g GSSAPI) sourceDesc() string {
	switch g.source {
	case srcKeytab:
		return g.source + " " + g.cfg.KeytabFile
	case srcCCache:
		return g.source + " " + g.ccache
	}
	return g.source
}

// String describes the login without its secret. (Value receivers: even a
// copied GSSAPI value prints only this.)
func (g GSSAPI) String() string {
	s := fmt.Sprintf("GSSAPI(%s, %s", g.principal, g.sourceDesc())
	s += ", service " + g.cfg.ServiceName
	if g.cfg.AuthorizationID != "" {
		s += ", as " + g.cfg.AuthorizationID
	}
	return s + ")"
}

// Close stops the Kerberos client's background ticket renewal and forgets
// its tickets. Start fails afterwards.
func (g *GSSAPI) Close() error {
	g.st.sem <- struct{}{}
	defer func() { <-g.st.sem }()
	if g.st.cl != nil {
		g.st.cl.Destroy()
		g.st.cl = nil
	}
	g.st.closed = true
	return nil
}

// ServicePrincipal returns the server principal (without realm) that Start
// asks a ticket for when logging in to host.
func (g *GSSAPI) ServicePrincipal(ctx context.Context, host string) (string, error) {
	if g.cfg.ServiceHost != "" {
		host = g.cfg.ServiceHost
	}
	if host == "" {
		return "", errors.New("kerberos: the server's host name is unknown (set ServiceHost)")
	}
	if g.cfg.CanonicalizeHost {
		host = canonicalHost(ctx, g.cfg.Resolver, host)
	}
	return g.cfg.ServiceName + "/" + host, nil
}

func canonicalHost(ctx context.Context, r *net.Resolver, host string) string {
	if r == nil {
		r = net.DefaultResolver
	}
	addr := host
	if net.ParseIP(host) == nil {
		addrs, err := r.LookupHost(ctx, host)
		if err != nil || len(addrs) == 0 {
			return host
		}
		addr = addrs[0]
	}
	names, err := r.LookupAddr(ctx, addr)
	if err != nil || len(names) == 0 {
		return host
	}
	return strings.ToLower(strings.TrimSuffix(names[0], "."))
}

// Start implements auth.Authenticator: it obtains a service ticket (logging in
// to the KDC first when needed) and returns the initial response.
func (g *GSSAPI) Start(ctx context.Context, server auth.ServerInfo) (auth.Exchange, []byte, error) {
	if err := sasl.CheckAllowed("GSSAPI", g.cfg.AllowedAuthenticators, server.Authenticator); err != nil {
		return nil, nil, err
	}
	spn, err := g.ServicePrincipal(ctx, server.Host)
	if err != nil {
		return nil, nil, err
	}
	tkt, key, cl, err := g.serviceTicket(ctx, spn)
	if err != nil {
		return nil, nil, err
	}
	x := &gssExchange{
		principal: g.principal,
		service:   spn,
		authzid:   g.cfg.AuthorizationID,
		mutual:    !g.cfg.DisableMutualAuth,
	}
	token, err := x.initSecContext(cl, tkt, key)
	if err != nil {
		return nil, nil, err
	}
	x.apReq = token
	if server.Authenticator == auth.DSEAuthenticator {
		x.state = gssStateMechanism
		return x, []byte(auth.MechanismGSSAPI), nil
	}
	x.sentAPReq()
	return x, token, nil
}

// serviceTicket logs in when needed and gets a ticket for spn, giving up
// when ctx ends (the KDC exchange then finishes in the background).
func (g *GSSAPI) serviceTicket(ctx context.Context, spn string) (messages.Ticket, types.EncryptionKey, *client.Client, error) {
	select {
	case g.st.sem <- struct{}{}:
	case <-ctx.Done():
		return messages.Ticket{}, types.EncryptionKey{}, nil, fmt.Errorf("kerberos: waiting to contact the KDC for %s: %w", g.principal, ctx.Err())
	}
	type result struct {
		tkt messages.Ticket
		key types.EncryptionKey
		cl  *client.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-g.st.sem }()
		var r result
		r.cl, r.err = g.client()
		if r.err == nil {
			var err error
			r.tkt, r.key, err = r.cl.GetServiceTicket(spn)
			if err != nil {
				r.err = newError("getting a service ticket", g.principal, spn, g.sourceDesc(), err)
			}
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r.tkt, r.key, r.cl, r.err
	case <-ctx.Done():
		return messages.Ticket{}, types.EncryptionKey{}, nil, fmt.Errorf("kerberos: contacting the KDC for %s (service %s): %w", g.principal, spn, ctx.Err())
	}
}

// client returns a logged-in Kerberos client. Called with sem held.
func (g *GSSAPI) client() (*client.Client, error) {
	if g.st.closed {
		return nil, fmt.Errorf("kerberos: login of %s: the authenticator is closed", g.principal)
	}
	opts := []func(*client.Settings){client.DisablePAFXFAST(true)}
	switch g.source {
	case srcPassword, srcKeytab:
		if g.st.cl == nil {
			if g.source == srcPassword {
				g.st.cl = client.NewWithPassword(g.name, g.realm, string(g.cfg.Password), g.krb5, opts...)
			} else {
				g.st.cl = client.NewWithKeytab(g.name, g.realm, g.keytab, g.krb5, opts...)
			}
			g.st.loggedIn = false
		}
		if !g.st.loggedIn {
			if err := g.st.cl.Login(); err != nil {
				g.st.cl.Destroy()
				g.st.cl = nil
				return nil, newError("login", g.principal, "", g.sourceDesc(), err)
			}
			g.st.loggedIn = true
		}
	case srcCCache:
		if g.st.cl == nil || !time.Now().Before(g.st.tgtEnd) {
			cc, err := credentials.LoadCCache(g.ccache)
			if err != nil {
				return nil, &Error{Step: "reading the ticket cache", Principal: g.principal, Source: g.sourceDesc(), Err: err}
			}
			tgtName := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", cc.DefaultPrincipal.Realm}}
			cred, ok := cc.GetEntry(tgtName)
			if !ok {
				return nil, &Error{Step: "reading the ticket cache", Principal: g.principal, Source: g.sourceDesc(),
					Reason: "no ticket-granting ticket for " + g.realm + " in the cache (run kinit)"}
			}
			if !time.Now().Before(cred.EndTime) {
				return nil, &Error{Step: "reading the ticket cache", Principal: g.principal, Source: g.sourceDesc(),
					Code: errorcode.KRB_AP_ERR_TKT_EXPIRED, Name: "KRB_AP_ERR_TKT_EXPIRED",
					Reason: fmt.Sprintf("the ticket-granting ticket expired at %s (renew it with kinit)", cred.EndTime.UTC().Format(time.RFC3339))}
			}
			cl, err := client.NewFromCCache(cc, g.krb5, opts...)
			if err != nil {
				return nil, &Error{Step: "reading the ticket cache", Principal: g.principal, Source: g.sourceDesc(), Err: err}
			}
			if g.st.cl != nil {
				g.st.cl.Destroy()
			}
			g.st.cl, g.st.tgtEnd = cl, cred.EndTime
		}
	}
	return g.st.cl, nil
}
