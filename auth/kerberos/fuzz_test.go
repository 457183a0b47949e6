package kerberos

import (
	"bytes"
	"context"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzGSSAPIChallenge feeds arbitrary server tokens to the client's GSSAPI
// exchange in each of its states (DSE mechanism choice, AP-REP expected,
// security-layer challenge expected, done), as a challenge and as a
// success token. It must never panic, and a token it accepts in the
// security-layer state must carry a valid offer.
func FuzzGSSAPIChallenge(f *testing.F) {
	ctx := context.Background()
	o := newOffline(f, etypeID.AES256_CTS_HMAC_SHA1_96)
	x, first := o.start(f, true, false, "role")
	sess := o.acc.NewSession()
	apRep, _, _, err := sess.Step(first)
	if err != nil {
		f.Fatal(err)
	}
	templates := make([]gssExchange, 4)
	templates[gssStateMechanism] = *x
	templates[gssStateMechanism].state = gssStateMechanism
	templates[gssStateAPRep] = *x
	if _, err := x.Challenge(ctx, apRep); err != nil {
		f.Fatal(err)
	}
	templates[gssStateEstablished] = *x
	layer, _, _, err := sess.Step([]byte{})
	if err != nil {
		f.Fatal(err)
	}
	templates[gssStateDone] = *x
	templates[gssStateDone].state = gssStateDone

	ke := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "cassandra/localhost"), offlineRealm, 41, "bad")
	kb, _ := ke.Marshal()

	f.Add(byte(gssStateMechanism), []byte("GSSAPI-START"))
	f.Add(byte(gssStateAPRep), apRep)
	f.Add(byte(gssStateAPRep), frameContextToken(tokKRBError, kb))
	f.Add(byte(gssStateAPRep), []byte{0x60, 0x03, 0x06, 0x01, 0x00})
	f.Add(byte(gssStateEstablished), layer)
	f.Add(byte(gssStateEstablished), []byte{})
	f.Add(byte(gssStateEstablished), apRep)
	f.Add(byte(gssStateEstablished), []byte{0x05, 0x04, 0x01, 0xff, 0x00, 0x0c, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0})
	f.Add(byte(gssStateDone), layer)

	f.Fuzz(func(t *testing.T, state byte, tok []byte) {
		y := templates[int(state)%len(templates)]
		resp, err := y.Challenge(ctx, tok)
		if err == nil && y.state == gssStateDone {
			// A security-layer offer was accepted: it must verify with our
			// keys, offer "no layer", and our answer must be a wrap token.
			payload, perr := unwrapFromAcceptor(tok, templates[gssStateEstablished].keyFor)
			if perr != nil || len(payload) != 4 || payload[0]&layerNone == 0 {
				t.Fatalf("accepted layer token %x: %v", tok, perr)
			}
			if !bytes.HasPrefix(resp, []byte{0x05, 0x04}) {
				t.Fatalf("answer %x is not a wrap token", resp)
			}
		}
		z := templates[int(state)%len(templates)]
		_ = z.Success(tok)
		_, _, _ = parseContextToken(tok)
		_, _, _ = parseWrapToken(tok)
	})
}
