#ifndef VEILGATE_CSODIUM_SHIM_H
#define VEILGATE_CSODIUM_SHIM_H
// libsodium for VeilVault only (apt: libsodium-dev). Macros that Swift cannot import are wrapped here.
#include <sodium.h>

static inline size_t veil_secretstream_headerbytes(void) { return crypto_secretstream_xchacha20poly1305_HEADERBYTES; }
static inline size_t veil_secretstream_keybytes(void) { return crypto_secretstream_xchacha20poly1305_KEYBYTES; }
static inline size_t veil_secretstream_abytes(void) { return crypto_secretstream_xchacha20poly1305_ABYTES; }
static inline unsigned char veil_secretstream_tag_message(void) { return crypto_secretstream_xchacha20poly1305_TAG_MESSAGE; }
static inline unsigned char veil_secretstream_tag_final(void) { return crypto_secretstream_xchacha20poly1305_TAG_FINAL; }
static inline size_t veil_aead_keybytes(void) { return crypto_aead_xchacha20poly1305_ietf_KEYBYTES; }
static inline size_t veil_aead_npubbytes(void) { return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES; }
static inline size_t veil_aead_abytes(void) { return crypto_aead_xchacha20poly1305_ietf_ABYTES; }
static inline size_t veil_sign_publickeybytes(void) { return crypto_sign_PUBLICKEYBYTES; }
static inline size_t veil_sign_secretkeybytes(void) { return crypto_sign_SECRETKEYBYTES; }
static inline size_t veil_sign_bytes(void) { return crypto_sign_BYTES; }
static inline size_t veil_sha256_bytes(void) { return crypto_hash_sha256_BYTES; }
static inline size_t veil_box_publickeybytes(void) { return crypto_box_PUBLICKEYBYTES; }
static inline size_t veil_box_sealbytes(void) { return crypto_box_SEALBYTES; }

#endif
