package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// testKey returns a deterministic, distinct 32-byte key as base64, so tests can check that
// error messages never contain it.
func testKey(seed byte) string {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = seed + byte(i)
	}
	return base64.StdEncoding.EncodeToString(key)
}

func mustKeyring(t *testing.T, spec string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(spec)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

// payloads builds plain payloads with the SDK's default converter, the way workflows produce them.
func payloads(t *testing.T, values ...any) []*commonpb.Payload {
	t.Helper()
	var out []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatalf("ToPayload(%v): %v", v, err)
		}
		out = append(out, p)
	}
	return out
}

func keyIDOf(p *commonpb.Payload) string { return string(p.GetMetadata()[MetadataKeyID]) }

type user struct {
	Email string
	Name  string
}

func TestRoundTrip(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	in := payloads(t, "alice@example.com", 42, user{Email: "bob@example.com", Name: "Bob"}, []byte{0, 1, 2}, nil)

	enc, err := c.Encode(in)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if len(enc) != len(in) {
		t.Fatalf("Encode returned %d payloads, want %d", len(enc), len(in))
	}
	for i, p := range enc {
		if got := string(p.Metadata[converter.MetadataEncoding]); got != MetadataEncodingEncrypted {
			t.Errorf("payload %d encoding = %q, want %q", i, got, MetadataEncodingEncrypted)
		}
		if got := keyIDOf(p); got != "k1" {
			t.Errorf("payload %d key id = %q, want k1", i, got)
		}
	}

	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range in {
		if !proto.Equal(in[i], dec[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], in[i])
		}
	}

	// Through the full data converter too, as workflows use it.
	dc := DataConverter(mustKeyring(t, "k1:"+testKey(1)))
	p, err := dc.ToPayload(user{Email: "carol@example.com", Name: "Carol"})
	if err != nil {
		t.Fatalf("ToPayload: %v", err)
	}
	var got user
	if err := dc.FromPayload(p, &got); err != nil {
		t.Fatalf("FromPayload: %v", err)
	}
	if got != (user{Email: "carol@example.com", Name: "Carol"}) {
		t.Errorf("data converter round trip = %+v", got)
	}
}

func TestEncodeDoesNotModifyInputs(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	in := payloads(t, "alice@example.com")
	before := proto.Clone(in[0])
	if _, err := c.Encode(in); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !proto.Equal(before, in[0]) {
		t.Errorf("Encode changed its input: %v, was %v", in[0], before)
	}
}

func TestCiphertextHidesPlaintext(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	const secret = "alice.secret@example.com"
	in := payloads(t, secret, secret)
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	for i, p := range enc {
		if bytes.Contains(p.Data, []byte(secret)) || bytes.Contains(p.Data, []byte("alice")) {
			t.Errorf("payload %d data contains the plaintext", i)
		}
		for k, v := range p.Metadata {
			if bytes.Contains(v, []byte("json/plain")) || bytes.Contains(v, []byte(secret)) {
				t.Errorf("payload %d metadata %s leaks the original payload: %q", i, k, v)
			}
		}
	}
	// Random nonces: the same value never encrypts to the same bytes, so equal inputs cannot
	// be spotted in the history.
	if bytes.Equal(enc[0].Data, enc[1].Data) {
		t.Error("two encryptions of the same payload are identical")
	}
	if want := 12 + len(mustMarshal(t, in[0])) + 16; len(enc[0].Data) != want {
		t.Errorf("data is %d bytes, want nonce(12)+ciphertext+tag(16) = %d", len(enc[0].Data), want)
	}
}

func mustMarshal(t *testing.T, p *commonpb.Payload) []byte {
	t.Helper()
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyRotation(t *testing.T) {
	oldSpec := "2025-01:" + testKey(1)
	before := NewCodec(mustKeyring(t, oldSpec))
	oldEnc, err := before.Encode(payloads(t, "written before rotation"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if got := keyIDOf(oldEnc[0]); got != "2025-01" {
		t.Fatalf("key id before rotation = %q", got)
	}

	// Rotate: a new key is prepended and becomes current; the old one stays for decryption.
	rotated := mustKeyring(t, "2025-06:"+testKey(2)+","+oldSpec)
	if rotated.CurrentID() != "2025-06" {
		t.Fatalf("CurrentID = %q, want the first entry", rotated.CurrentID())
	}
	after := NewCodec(rotated)

	dec, err := after.Decode(oldEnc)
	if err != nil {
		t.Fatalf("decoding a pre-rotation payload: %v", err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &s); err != nil || s != "written before rotation" {
		t.Fatalf("pre-rotation payload decoded to %q, %v", s, err)
	}

	newEnc, err := after.Encode(payloads(t, "written after rotation"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if got := keyIDOf(newEnc[0]); got != "2025-06" {
		t.Errorf("key id after rotation = %q, want 2025-06", got)
	}
	if _, err := after.Decode(newEnc); err != nil {
		t.Errorf("decoding a post-rotation payload: %v", err)
	}
}

func TestDecodeUnknownKeyID(t *testing.T) {
	newer := NewCodec(mustKeyring(t, "2025-06:"+testKey(2)))
	enc, err := newer.Encode(payloads(t, "x"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	older := NewCodec(mustKeyring(t, "2025-01:"+testKey(1)))
	_, err = older.Decode(enc)
	if err == nil {
		t.Fatal("Decode with a keyring lacking the id succeeded")
	}
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"2025-06"`) {
		t.Errorf("error = %v; want ErrUnknownKey naming 2025-06", err)
	}

	// Missing id metadata altogether is also reported, not treated as plain.
	enc[0].Metadata = map[string][]byte{converter.MetadataEncoding: []byte(MetadataEncodingEncrypted)}
	if _, err := newer.Decode(enc); err == nil || !strings.Contains(err.Error(), MetadataKeyID) {
		t.Errorf("missing key id: error = %v", err)
	}
}

func TestDecodeTampered(t *testing.T) {
	c := NewCodec(mustKeyring(t, "a:"+testKey(1)+",b:"+testKey(2)))
	tamper := map[string]func(p *commonpb.Payload){
		"flipped ciphertext byte": func(p *commonpb.Payload) { p.Data[len(p.Data)-20] ^= 1 },
		"flipped nonce byte":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"flipped tag byte":        func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncated":               func(p *commonpb.Payload) { p.Data = p.Data[:20] },
		"empty data":              func(p *commonpb.Payload) { p.Data = nil },
		"relabelled key id":       func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("b") },
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			enc, err := c.Encode(payloads(t, "some value long enough to tamper with"))
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			f(enc[0])
			_, err = c.Decode(enc)
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("Decode error = %v, want ErrAuthentication", err)
			}
		})
	}
}

func TestDecodePassesPlainPayloadsThrough(t *testing.T) {
	c := NewCodec(mustKeyring(t, "k1:"+testKey(1)))
	plain := payloads(t, "written before encryption was on", 7)
	plain = append(plain, &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("binary/zlib")}, Data: []byte{1, 2}})
	enc, err := c.Encode(payloads(t, "encrypted"))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	mixed := append(append([]*commonpb.Payload{}, plain...), enc[0], nil)

	dec, err := c.Decode(mixed)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range plain {
		if dec[i] != plain[i] {
			t.Errorf("plain payload %d was not passed through unchanged", i)
		}
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[len(plain)], &s); err != nil || s != "encrypted" {
		t.Errorf("encrypted payload in a mixed batch decoded to %q, %v", s, err)
	}
	if dec[len(dec)-1] != nil {
		t.Errorf("nil payload decoded to %v", dec[len(dec)-1])
	}
}

func TestFailureConverterEncryptsMessage(t *testing.T) {
	dc := DataConverter(mustKeyring(t, "k1:"+testKey(1)))
	fc := FailureConverter(dc)
	const secret = "user alice@example.com rejected by Authomize"
	const causeSecret = "jumpcloud said bob@example.com is suspended"

	err := temporal.NewApplicationErrorWithCause(secret, "SyncError", errors.New(causeSecret), "detail for carol@example.com")
	f := fc.ErrorToFailure(err)

	if strings.Contains(f.GetMessage(), "alice") || f.GetMessage() == secret {
		t.Errorf("failure message is in clear text: %q", f.GetMessage())
	}
	if f.GetStackTrace() != "" {
		t.Errorf("stack trace left in clear text: %q", f.GetStackTrace())
	}
	ea := f.GetEncodedAttributes()
	if got := string(ea.GetMetadata()[converter.MetadataEncoding]); got != MetadataEncodingEncrypted {
		t.Fatalf("EncodedAttributes encoding = %q, want %q", got, MetadataEncodingEncrypted)
	}
	if got := keyIDOf(ea); got != "k1" {
		t.Errorf("EncodedAttributes key id = %q", got)
	}
	// Nothing secret anywhere in the serialized failure, causes and details included.
	wire := mustMarshalFailure(t, f)
	for _, s := range []string{"alice", "bob@example.com", "carol@example.com"} {
		if bytes.Contains(wire, []byte(s)) {
			t.Errorf("serialized failure contains %q", s)
		}
	}

	// And it still reads back for whoever holds the key.
	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	if !errors.As(back, &appErr) || appErr.Message() != secret {
		t.Fatalf("FailureToError = %v, want application error %q", back, secret)
	}
	if !strings.Contains(back.Error(), causeSecret) {
		t.Errorf("decoded error %q lost its cause", back)
	}
}

func mustMarshalFailure(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClientOptions(t *testing.T) {
	var opts client.Options
	ClientOptions(nil)(&opts)
	if opts.DataConverter != nil || opts.FailureConverter != nil {
		t.Error("ClientOptions(nil) changed the options")
	}

	ClientOptions(mustKeyring(t, "k1:"+testKey(1)))(&opts)
	if opts.DataConverter == nil || opts.FailureConverter == nil {
		t.Fatal("ClientOptions did not set both converters")
	}
	p, err := opts.DataConverter.ToPayload("x")
	if err != nil {
		t.Fatalf("ToPayload: %v", err)
	}
	if keyIDOf(p) != "k1" {
		t.Errorf("client data converter does not encrypt: %v", p.Metadata)
	}
	f := opts.FailureConverter.ErrorToFailure(errors.New("secret"))
	if f.GetMessage() == "secret" {
		t.Error("client failure converter leaves messages in clear text")
	}
}
