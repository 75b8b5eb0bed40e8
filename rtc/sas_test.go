package rtc

import (
	"context"
	"crypto/sha256"
	"regexp"
	"testing"
)

func TestSafetyWordsShape(t *testing.T) {
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	w := SafetyWords(a, b)
	if w != SafetyWords(b, a) {
		t.Errorf("SafetyWords depends on the order of its arguments")
	}
	if !regexp.MustCompile(`^([bdfkmnrs][aiou][bdfkmnrs][aiou] ){3}[bdfkmnrs][aiou][bdfkmnrs][aiou]$`).MatchString(w) {
		t.Errorf("SafetyWords = %q; want four words", w)
	}
	seen := map[string]bool{}
	for n := uint16(0); n < 1024; n++ {
		seen[safetyWord(n)] = true
	}
	if len(seen) != 1024 {
		t.Errorf("%d distinct words; want 1024", len(seen))
	}
}

func words(t *testing.T, c *Call) string {
	t.Helper()
	return next[VerifyEvent](t, c).Words
}

// TestSafetyWordsMatch checks that both sides of a call see the same words.
func TestSafetyWordsMatch(t *testing.T) {
	a, b := pair(t, loopbackConfig())
	wa, wb := words(t, a), words(t, b)
	if wa != wb {
		t.Errorf("caller sees %q, callee %q; want the same", wa, wb)
	}
	a.Verify()
	if v := next[VerifyEvent](t, a); !v.Verified || v.Words != wa {
		t.Errorf("after Verify: %+v", v)
	}
}

// TestSafetyWordsMITM puts a man in the middle who swapped the codes: he
// answers Alice's invite with his own call and invites Bob with another,
// and relays the chat between them. Both calls work; only the words tell.
func TestSafetyWordsMITM(t *testing.T) {
	ctx := context.Background()
	cfg := loopbackConfig()
	var alice, bob, toAlice, toBob *Call
	for _, c := range []**Call{&alice, &bob, &toAlice, &toBob} {
		var err error
		if *c, err = New(cfg); err != nil {
			t.Fatal(err)
		}
		defer (*c).Close()
	}
	invite, err := alice.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mAnswer, err := toAlice.Join(ctx, invite) // the invite never reaches Bob
	if err != nil {
		t.Fatal(err)
	}
	mInvite, err := toBob.Invite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := bob.Join(ctx, mInvite) // Bob thinks it is Alice's
	if err != nil {
		t.Fatal(err)
	}
	if err := toBob.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if err := alice.Accept(mAnswer); err != nil {
		t.Fatal(err)
	}
	wAlice, wBob := words(t, alice), words(t, bob)
	wToAlice, wToBob := words(t, toAlice), words(t, toBob)

	// The relay works: Alice's message reaches Bob through him.
	alice.Send("meet at noon")
	m := next[ChatEvent](t, toAlice)
	toBob.Send(m.Text)
	if got := next[ChatEvent](t, bob); got.Text != "meet at noon" {
		t.Fatalf("relayed %q", got.Text)
	}
	if wAlice == wBob {
		t.Errorf("Alice and Bob both see %q through a man in the middle; want different words", wAlice)
	}
	if wAlice != wToAlice || wBob != wToBob {
		t.Errorf("each leg's two ends should agree: %q/%q and %q/%q", wAlice, wToAlice, wBob, wToBob)
	}
	t.Logf("Alice sees %q, Bob sees %q", wAlice, wBob)
}
