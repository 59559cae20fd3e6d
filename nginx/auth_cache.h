/*
 * auth_cache.h -- verified tokens, keyed by the SHA-256 of the token and
 * kept until the token's exp, so a token's signature is checked once.
 * Thread-safe; fixed size (direct-mapped); never stores the token itself.
 */
#ifndef AUTH_CACHE_H
#define AUTH_CACHE_H

#include "auth_verify.h"

#define AUTH_CACHE_SLOTS 4096

typedef struct auth_cache_s auth_cache_t;

auth_cache_t *auth_cache_new(void);
void          auth_cache_free(auth_cache_t *c);

/* SHA-256 of token into digest[32].  0, or -1 when OpenSSL fails. */
int auth_cache_digest(const char *token, size_t len, unsigned char digest[32]);

/* 1 and *id filled when a verified entry exists and now <= its exp. */
int auth_cache_get(auth_cache_t *c, const unsigned char digest[32], long now,
    auth_identity_t *id);

void auth_cache_put(auth_cache_t *c, const unsigned char digest[32],
    const auth_identity_t *id);

#endif
