/*
 * auth_jwks.h -- the realm's signing keys: parsing a JWKS document into
 * RSA signature keys by kid, and a shared, thread-safe key store that
 * fetches the JWKS with libcurl and refetches at most once per interval.
 */
#ifndef AUTH_JWKS_H
#define AUTH_JWKS_H

#include <stddef.h>
#include <cjose/cjose.h>

typedef struct {
    char         kid[129];
    cjose_jwk_t *jwk; /* owned */
} auth_key_t;

typedef struct {
    auth_key_t *keys; /* owned */
    size_t      n;
} auth_keyset_t;

/*
 * Parses a JWKS document, keeping only RSA keys usable for RS256
 * signatures (use absent or "sig", alg absent or "RS256", a kid).  0, or
 * -1 with err filled when the document is not a JWKS.
 */
int  auth_keyset_parse(const char *json, size_t len, auth_keyset_t *out,
     char *err, size_t errlen);
void auth_keyset_free(auth_keyset_t *ks);
const cjose_jwk_t *auth_keyset_find(const auth_keyset_t *ks, const char *kid);

typedef struct auth_jwks_s auth_jwks_t;

/* A store for url (borrowed) refetching at most every min_interval s. */
auth_jwks_t *auth_jwks_new(const char *url, long min_interval, long ttl);
void         auth_jwks_free(auth_jwks_t *j);

/*
 * Fetches now unless a fetch was attempted less than min_interval seconds
 * ago.  Returns 1 when the keys were replaced, 0 when not attempted, -1
 * when the fetch failed (old keys are kept).
 */
int auth_jwks_refresh(auth_jwks_t *j);

/* 1 when the last successful fetch is older than ttl (or never was). */
int auth_jwks_stale(auth_jwks_t *j);

/* Read access to the current keys: lock, use, unlock. */
const auth_keyset_t *auth_jwks_lock(auth_jwks_t *j);
void                 auth_jwks_unlock(auth_jwks_t *j);

/* The number of fetches attempted since start (for tests and /health). */
long auth_jwks_fetches(auth_jwks_t *j);

#endif
