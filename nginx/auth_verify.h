/*
 * auth_verify.h -- checks one compact JWS access token against a key
 * lookup and a policy: RS256 only, kid required, signature, exp/nbf/iat
 * with leeway, iss, aud and azp; extracts subject, client and realm
 * roles.  Pure (the clock and the keys are passed in), so the unit tests
 * drive it with keys they generate.
 */
#ifndef AUTH_VERIFY_H
#define AUTH_VERIFY_H

#include <stddef.h>
#include <cjose/cjose.h>

#define AUTH_MAX_TOKEN 8192 /* longer tokens are refused unread */

typedef struct {
    const char *issuer;   /* exact iss */
    const char *audience; /* must be in aud; "" = not checked */
    const char *clients;  /* azp must be one of "a,b"; "" = not checked */
    long        leeway;   /* seconds of clock skew allowed */
} auth_policy_t;

typedef struct {
    char sub[128];
    char azp[128];
    char roles[512]; /* realm roles, comma-separated */
    long exp;
} auth_identity_t;

typedef enum {
    AUTH_OK,
    AUTH_UNKNOWN_KID, /* well-formed, but no key has its kid */
    AUTH_INVALID      /* refused; why says which rule */
} auth_result_t;

/* Returns the RSA key with this kid, or NULL.  Borrowed. */
typedef const cjose_jwk_t *(*auth_key_lookup_fn)(void *ctx, const char *kid);

auth_result_t auth_verify(const char *token, size_t len,
    const auth_policy_t *policy, long now, auth_key_lookup_fn lookup,
    void *lookup_ctx, auth_identity_t *id, char *why, size_t whylen);

/* 1 when role is one of the comma-separated roles. */
int auth_has_role(const char *roles, const char *role);

#endif
