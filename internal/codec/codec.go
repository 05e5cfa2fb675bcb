package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload metadata the codec writes.
const (
	// MetadataEncodingEncrypted is the "encoding" of an encrypted payload. It is the value
	// Temporal's samples use, so the Web UI shows these payloads as encrypted rather than
	// trying to render them.
	MetadataEncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the keyring entry a payload was encrypted with, so Decode can pick
	// the right key after a rotation.
	MetadataKeyID = "encryption-key-id"
)

// Codec is a converter.PayloadCodec that encrypts whole payloads (metadata included, so even
// the original encoding is hidden) with AES-256-GCM under the keyring's current key.
//
// An encrypted payload has metadata encoding=binary/encrypted and encryption-key-id=<id>, and
// data nonce(12 bytes) || ciphertext+tag of the proto-marshalled original payload. No
// additional authenticated data is used, which keeps the format the one other Temporal SDKs'
// encryption samples read and write.
type Codec struct {
	keys *Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec over k. It panics on a nil keyring: that is a wiring bug, and
// failing at startup beats every workflow failing on its first payload.
func NewCodec(k *Keyring) *Codec {
	if k == nil {
		panic("codec.NewCodec: nil keyring")
	}
	return &Codec{keys: k}
}

// Encode encrypts every payload with the current key. Payloads are never modified in place,
// because the SDK may still hold and reuse the originals.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.CurrentID()
	aead, _ := c.keys.aead(id)
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshalling payload %d: %w", i, err)
		}
		// A fresh random 96-bit nonce per payload. Random nonces stay safe for about 2^32
		// encryptions under one key, far beyond what one key sees between rotations here.
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: generating nonce for payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataKeyID:              []byte(id),
			},
			Data: aead.Seal(nonce, nonce, plain, nil),
		}
	}
	return out, nil
}

// Decode decrypts payloads this codec encrypted. Payloads with any other encoding pass through
// unchanged, so histories written before encryption was turned on still read.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		decoded, err := c.decrypt(p)
		if err != nil {
			return nil, fmt.Errorf("codec: payload %d: %w", i, err)
		}
		out[i] = decoded
	}
	return out, nil
}

// ErrUnknownKey is wrapped by Decode's error when a payload names a key id the keyring lacks.
var ErrUnknownKey = errors.New("key id not in keyring")

// ErrAuthentication is wrapped by Decode's error when the ciphertext fails GCM authentication.
var ErrAuthentication = errors.New("message authentication failed")

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	idBytes, ok := p.GetMetadata()[MetadataKeyID]
	if !ok || len(idBytes) == 0 {
		return nil, fmt.Errorf("encrypted payload has no %s metadata", MetadataKeyID)
	}
	id := string(idBytes)
	aead, ok := c.keys.aead(id)
	if !ok {
		return nil, fmt.Errorf("encrypted with key id %q, but the keyring only has %q: %w; "+
			"restore that entry to read it", id, c.keys.ids, ErrUnknownKey)
	}
	data := p.GetData()
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("decrypting with key id %q: data is %d bytes, too short for nonce and tag: %w",
			id, len(data), ErrAuthentication)
	}
	nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		// GCM's own error says nothing useful; say what it means for an operator.
		return nil, fmt.Errorf("decrypting with key id %q: %w (data tampered with, or the key under this id changed)",
			id, ErrAuthentication)
	}
	var orig commonpb.Payload
	if err := proto.Unmarshal(plain, &orig); err != nil {
		return nil, fmt.Errorf("unmarshalling payload decrypted with key id %q: %w", id, err)
	}
	return &orig, nil
}

// DataConverter is Temporal's default data converter with every payload passed through the
// codec. Give it to the client; workers built from that client inherit it.
func DataConverter(k *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// FailureConverter is Temporal's default failure converter with EncodeCommonAttributes set.
// Without it, failure messages and stack traces stay in clear text in the history even though
// every payload is encrypted: the SDK only moves them into the (encrypted) EncodedAttributes
// payload when asked to. dc should be the DataConverter from this package.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// ClientOptions returns a function that sets the encrypting DataConverter and FailureConverter
// on client options. A nil keyring (LoadKeyring's "encryption off") gives a no-op, so callers
// can apply it unconditionally:
//
//	k, _, err := codec.LoadKeyring(os.Getenv, os.ReadFile)
//	...
//	codec.ClientOptions(k)(&opts)
func ClientOptions(k *Keyring) func(*client.Options) {
	if k == nil {
		return func(*client.Options) {}
	}
	dc := DataConverter(k)
	fc := FailureConverter(dc)
	return func(o *client.Options) {
		o.DataConverter = dc
		o.FailureConverter = fc
	}
}
