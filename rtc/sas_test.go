package rtc

import (
	"context"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"
)

func TestSafetyWordsShape(t *testing.T) {
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	w := SafetyWords(a, b)
	if w != SafetyWords(b, a) {
		t.Errorf("SafetyWords depends on the order of its arguments")
	}
	even, odd := wordIndex(pgpEven), wordIndex(pgpOdd)
	words := strings.Fields(w)
	if len(words) != 5 {
		t.Fatalf("SafetyWords = %q; want five words", w)
	}
	for i, word := range words {
		list, name := even, "even"
		if i%2 == 1 {
			list, name = odd, "odd"
		}
		if _, ok := list[word]; !ok {
			t.Errorf("SafetyWords = %q: word %d, %q, is not in the %s list", w, i+1, word, name)
		}
	}
	// Known answer: the words of the hash's first five bytes, even and odd
	// in turn. Both sides, and every parley that reads the words this way,
	// must agree on them.
	if want := "tycoon puberty beaming Babylon briefcase"; w != want {
		t.Errorf("SafetyWords(sha256(a), sha256(b)) = %q; want %q", w, want)
	}
}

// wordIndex maps each word of a list to its byte.
func wordIndex(list [256]string) map[string]int {
	m := make(map[string]int, len(list))
	for i, w := range list {
		m[w] = i
	}
	return m
}

// TestPGPWords checks the word lists as typed: 256 different words in
// each, no word in both, letters only, and the published words at a few
// places.
func TestPGPWords(t *testing.T) {
	even, odd := wordIndex(pgpEven), wordIndex(pgpOdd)
	if len(even) != 256 || len(odd) != 256 {
		t.Errorf("%d different even words and %d odd; want 256 each", len(even), len(odd))
	}
	for w := range even {
		if _, ok := odd[w]; ok {
			t.Errorf("%q is in both lists", w)
		}
	}
	letters := regexp.MustCompile(`^[A-Za-z]+$`)
	for _, list := range [][256]string{pgpEven, pgpOdd} {
		for i, w := range list {
			if !letters.MatchString(w) {
				t.Errorf("word %#02x is %q; want letters only", i, w)
			}
		}
	}
	for _, c := range []struct {
		b         byte
		even, odd string
	}{
		{0x00, "aardvark", "adroitness"},
		{0x17, "banjo", "bookseller"},
		{0x5a, "enlist", "existence"},
		{0x80, "merit", "intention"},
		{0xc3, "snowcap", "replica"},
		{0xe7, "transit", "truncated"},
		{0xff, "Zulu", "Yucatan"},
	} {
		if pgpEven[c.b] != c.even || pgpOdd[c.b] != c.odd {
			t.Errorf("byte %#02x: %q, %q; want %q, %q", c.b, pgpEven[c.b], pgpOdd[c.b], c.even, c.odd)
		}
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
