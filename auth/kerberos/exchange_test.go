package kerberos

// GSSAPI exchanges without a KDC: the service ticket is minted here with
// gokrb5 from an in-memory service keytab, and the server side is
// internal/krbtest's acceptor. These run everywhere (the KDC tests need
// MIT's krb5kdc) and feed the fuzz targets real tokens.

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/krbtest"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

const offlineRealm = "OFFLINE.TEST"

type offline struct {
	acc *krbtest.Acceptor
	cl  *client.Client
	tkt messages.Ticket
	key types.EncryptionKey
}

func newOffline(t testing.TB, etype int32) *offline {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry("cassandra/localhost", offlineRealm, "service-key-password", time.Now(), 1, etype); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	tkt, key, err := messages.NewTicket(
		types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "bob"), offlineRealm,
		types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "cassandra/localhost"), offlineRealm,
		types.NewKrbFlags(), kt, etype, 1, now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &offline{
		acc: &krbtest.Acceptor{Keytab: kt, Principal: "cassandra/localhost@" + offlineRealm},
		cl:  client.NewWithPassword("bob", offlineRealm, "unused", config.New()),
		tkt: tkt, key: key,
	}
}

// start begins a client exchange as GSSAPI.Start would.
func (o *offline) start(t testing.TB, mutual, dse bool, authzid string) (*gssExchange, []byte) {
	t.Helper()
	x := &gssExchange{principal: "bob@" + offlineRealm, service: "cassandra/localhost", authzid: authzid, mutual: mutual}
	tok, err := x.initSecContext(o.cl, o.tkt, o.key)
	if err != nil {
		t.Fatal(err)
	}
	x.apReq = tok
	if dse {
		x.state = gssStateMechanism
		return x, []byte(auth.MechanismGSSAPI)
	}
	x.sentAPReq()
	return x, tok
}

// run drives the exchange against a session, returning every token.
func run(t testing.TB, x *gssExchange, first []byte, sess *krbtest.Session) ([][]byte, error) {
	t.Helper()
	tok := first
	tokens := [][]byte{tok}
	for i := 0; i < 10; i++ {
		ch, done, success, err := sess.Step(tok)
		if err != nil {
			return tokens, err
		}
		tokens = append(tokens, ch)
		if done {
			return tokens, x.Success(success)
		}
		if tok, err = x.Challenge(context.Background(), ch); err != nil {
			return tokens, err
		}
		tokens = append(tokens, tok)
	}
	t.Fatal("no end")
	return nil, nil
}

func TestGSSAPIOffline(t *testing.T) {
	// (Not aes256-cts-hmac-sha384-192: gokrb5's NewTicket makes 24-byte
	// session keys for it; the KDC test covers it with real keys.)
	for _, et := range []int32{etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA256_128} {
		o := newOffline(t, et)
		for _, mutual := range []bool{true, false} {
			for _, dse := range []bool{true, false} {
				for _, subkey := range []bool{true, false} {
					x, first := o.start(t, mutual, dse, "role")
					acc := *o.acc
					acc.DSE, acc.NoAcceptorSubkey = dse, !subkey
					sess := acc.NewSession()
					if _, err := run(t, x, first, sess); err != nil {
						t.Errorf("etype %d mutual %v dse %v subkey %v: %v", et, mutual, dse, subkey, err)
						continue
					}
					if user, role := sess.Identity(); user != "bob@"+offlineRealm || role != "role" {
						t.Errorf("identity %q %q", user, role)
					}
				}
			}
		}
	}
}

func TestGSSAPIRejectsNonAES(t *testing.T) {
	o := newOffline(t, etypeID.RC4_HMAC)
	x := &gssExchange{principal: "bob@" + offlineRealm, service: "cassandra/localhost", mutual: true}
	if _, err := x.initSecContext(o.cl, o.tkt, o.key); err == nil || !strings.Contains(err.Error(), "only AES") {
		t.Errorf("RC4 session key: err = %v", err)
	}
}

// Hostile or broken servers: each gives a clear error.
func TestGSSAPIServerMisbehaviour(t *testing.T) {
	o := newOffline(t, etypeID.AES256_CTS_HMAC_SHA1_96)
	ctx := context.Background()

	// A real AP-REP and security-layer challenge, to tamper with.
	x, first := o.start(t, true, false, "")
	sess := o.acc.NewSession()
	apRep, _, _, err := sess.Step(first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Challenge(ctx, apRep); err != nil {
		t.Fatal(err)
	}
	layer, _, _, err := sess.Step([]byte{})
	if err != nil {
		t.Fatal(err)
	}

	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	for _, tc := range []struct {
		name  string
		state gssState
		token []byte
		want  string
	}{
		{"DSE wrong start", gssStateMechanism, []byte("PLAIN-START"), `want "GSSAPI-START"`},
		{"no AP-REP", gssStateAPRep, []byte{}, "empty token instead of its AP-REP"},
		{"AP-REP tampered", gssStateAPRep, flip(apRep, len(apRep)-3), "does not decrypt"},
		{"AP-REP truncated", gssStateAPRep, apRep[:len(apRep)-5], "context token announces"},
		{"AP-REP for another OID", gssStateAPRep, flip(apRep, 5), "not for the Kerberos V5 mechanism"},
		{"wrap token as AP-REP", gssStateAPRep, layer, "not a GSS-API context token"},
		{"layer checksum", gssStateEstablished, flip(layer, len(layer)-1), "checksum does not verify"},
		{"layer payload", gssStateEstablished, flip(layer, 16), "checksum does not verify"},
		{"layer from initiator", gssStateEstablished, flip(layer, 2), "not sent by the acceptor"},
		{"layer sealed", gssStateEstablished, func() []byte { c := bytes.Clone(layer); c[2] |= 0x02; return c }(), "sealed"},
		{"layer truncated", gssStateEstablished, layer[:10], "shorter than its 16-byte header"},
		{"layer EC", gssStateEstablished, flip(layer, 5), "checksum is"},
		{"after done", gssStateDone, layer, "after the security layer was negotiated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := *x
			y.state = tc.state
			_, err := y.Challenge(ctx, tc.token)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if y.state != gssStateFailed {
				t.Errorf("state %d after an error", y.state)
			}
			if _, err := y.Challenge(ctx, tc.token); err == nil || !strings.Contains(err.Error(), "already failed") {
				t.Errorf("after a failure: %v", err)
			}
		})
	}

	// KRB-ERROR from the server names the code.
	ke := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "cassandra/localhost"), offlineRealm, 41, "integrity check failed")
	kb, err := ke.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	y := *x
	y.state = gssStateAPRep
	_, err = y.Challenge(ctx, frameContextToken(tokKRBError, kb))
	if err == nil || !strings.Contains(err.Error(), "KRB_AP_ERR_MODIFIED (41)") || !strings.Contains(err.Error(), "rejected the AP-REQ") {
		t.Errorf("KRB-ERROR token: %v", err)
	}

	// Success without the AP-REP when mutual authentication was asked for.
	y = *x
	y.state = gssStateAPRep
	if err := y.Success(nil); err == nil || !strings.Contains(err.Error(), "without sending its AP-REP") {
		t.Errorf("Success without AP-REP: %v", err)
	}
	// ... but the AP-REP may come with the success.
	y = *x
	y.state = gssStateAPRep
	if err := y.Success(apRep); err != nil {
		t.Errorf("Success carrying the AP-REP: %v", err)
	}
	// A server offering only integrity: no common layer.
	acc := *o.acc
	acc.Layers = 0x02
	x2, first2 := o.start(t, true, false, "")
	if _, err := run(t, x2, first2, acc.NewSession()); err == nil || !strings.Contains(err.Error(), "requires a security layer") {
		t.Errorf("integrity only: %v", err)
	}
}

// The wrap tokens interoperate with gokrb5's independent implementation,
// and a rotated (RRC) token is read back.
func TestWrapTokens(t *testing.T) {
	key := types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: bytes.Repeat([]byte{7}, 32)}
	payload := []byte{1, 0, 0, 0, 'r', 'o', 'l', 'e'}

	// Ours (initiator) verified by gokrb5.
	tok, err := wrapToken(key, usageInitiatorSeal, 0, 42, payload)
	if err != nil {
		t.Fatal(err)
	}
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(tok, false); err != nil {
		t.Fatal(err)
	}
	if ok, err := wt.Verify(key, keyusage.GSSAPI_INITIATOR_SEAL); !ok {
		t.Fatalf("gokrb5 does not verify our wrap token: %v", err)
	}
	if wt.SndSeqNum != 42 || !bytes.Equal(wt.Payload, payload) {
		t.Errorf("gokrb5 read seq %d payload %x", wt.SndSeqNum, wt.Payload)
	}

	// gokrb5's (acceptor) verified by ours.
	theirs := gssapi.WrapToken{Flags: 0x01, EC: 12, SndSeqNum: 7, Payload: []byte{1, 0, 0x10, 0}}
	if err := theirs.SetCheckSum(key, keyusage.GSSAPI_ACCEPTOR_SEAL); err != nil {
		t.Fatal(err)
	}
	tb, err := theirs.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	keyFor := func(bool) (types.EncryptionKey, error) { return key, nil }
	got, err := unwrapFromAcceptor(tb, keyFor)
	if err != nil || !bytes.Equal(got, theirs.Payload) {
		t.Fatalf("unwrap gokrb5's token: %x, %v", got, err)
	}

	// The same token rotated right by RRC bytes (as SSPI senders do).
	for _, rrc := range []int{1, 12, 15, 28} {
		data := tb[16:]
		r := rrc % len(data)
		rot := append(bytes.Clone(data[len(data)-r:]), data[:len(data)-r]...)
		rt := append(bytes.Clone(tb[:16]), rot...)
		binary.BigEndian.PutUint16(rt[6:], uint16(rrc))
		if got, err := unwrapFromAcceptor(rt, keyFor); err != nil || !bytes.Equal(got, theirs.Payload) {
			t.Errorf("RRC %d: %x, %v", rrc, got, err)
		}
	}
}

func TestContextTokenFraming(t *testing.T) {
	for _, n := range []int{0, 1, 100, 114, 115, 200, 255, 256, 1000, 70000} {
		msg := bytes.Repeat([]byte{0xab}, n)
		tok := frameContextToken(tokAPRep, msg)
		id, got, err := parseContextToken(tok)
		if n+13 > maxServerToken {
			if err == nil {
				t.Errorf("%d bytes: accepted over the limit", n)
			}
			continue
		}
		if err != nil || id != tokAPRep || !bytes.Equal(got, msg) {
			t.Errorf("%d bytes: id %x, %d bytes, %v", n, id, len(got), err)
		}
	}
	for _, bad := range [][]byte{
		{0x60},
		{0x60, 0x80},
		{0x60, 0x81, 0x05},
		{0x60, 0x82, 0x00, 0x90},
		{0x60, 0x85, 1, 2, 3, 4, 5},
		{0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x02},
	} {
		if _, _, err := parseContextToken(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}
