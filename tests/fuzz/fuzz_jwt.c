/*
 * fuzz_jwt.c -- fuzz target: pms-auth's token checks (nginx/auth_verify.c)
 * and its JWKS parser (nginx/auth_jwks.c).  The first input byte picks
 * what the rest is:
 *   0  a compact token handed to auth_verify as it is: segment splitting,
 *      base64url, the header's alg pinning and kid, the signature;
 *   1  a claims payload this target signs with its own RS256 key, so the
 *      claim checks behind the signature (exp/nbf/iat, iss, aud, azp,
 *      realm roles) see arbitrary JSON too;
 *   2  a JWKS document for auth_keyset_parse.
 * An accepted token must satisfy the policy; anything else traps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjose/cjose.h>

#include "auth_jwks.h"
#include "auth_verify.h"

#define FUZZ_ISS "http://127.0.0.1:8080/realms/patient-management"
#define FUZZ_NOW 1800000000L
#define FUZZ_KID "k1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cjose_jwk_t *fuzz_key; /* owned for the life of the process */

static const auth_policy_t fuzz_policy = { FUZZ_ISS, "patient-api",
    "ms-api,ms-readonly", 60 };

static const cjose_jwk_t *
fuzz_lookup(void *ctx, const char *kid)
{
    (void) ctx;
    return strcmp(kid, FUZZ_KID) == 0 ? fuzz_key : NULL;
}

static void
fuzz_check(const char *token, size_t len)
{
    auth_identity_t id;
    char            why[128];

    if (auth_verify(token, len, &fuzz_policy, FUZZ_NOW, fuzz_lookup, NULL, &id,
            why, sizeof(why))
        != AUTH_OK) {
        return;
    }
    /* accepted: the policy must really hold */
    if ((strcmp(id.azp, "ms-api") != 0 && strcmp(id.azp, "ms-readonly") != 0)
        || id.exp + fuzz_policy.leeway < FUZZ_NOW) {
        __builtin_trap();
    }
    (void) auth_has_role(id.roles, "patient-reader");
}

/* Signs payload with the target's key under RS256 and kid k1. */
static void
fuzz_signed(const uint8_t *payload, size_t len)
{
    cjose_err       err;
    cjose_header_t *hdr;
    cjose_jws_t    *jws;
    const char     *compact;

    hdr = cjose_header_new(&err);
    if (hdr == NULL) {
        return;
    }
    if (cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &err)
        && cjose_header_set(hdr, CJOSE_HDR_KID, FUZZ_KID, &err)) {
        jws = cjose_jws_sign(fuzz_key, hdr, payload, len, &err);
        if (jws != NULL) {
            if (cjose_jws_export(jws, &compact, &err)) {
                fuzz_check(compact, strlen(compact));
            }
            cjose_jws_release(jws);
        }
    }
    cjose_header_release(hdr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auth_keyset_t ks;
    cjose_err     err;
    char          msg[128], *text;

    if (fuzz_key == NULL) {
        /* 1024 bits: enough for RS256, cheap enough for many runs */
        fuzz_key = cjose_jwk_create_RSA_random(1024, NULL, 0, &err);
        if (fuzz_key == NULL) {
            abort();
        }
    }
    if (size == 0) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        /* a private copy without a terminator, so overreads are caught */
        text = malloc(size - 1 + 1);
        if (text == NULL) {
            return 0;
        }
        memcpy(text, data + 1, size - 1);
        fuzz_check(text, size - 1);
        free(text);
        break;
    case 1:
        fuzz_signed(data + 1, size - 1);
        break;
    default:
        if (auth_keyset_parse((const char *) data + 1, size - 1, &ks, msg,
                sizeof(msg))
            == 0) {
            for (size_t i = 0; i < ks.n; i++) {
                if (auth_keyset_find(&ks, ks.keys[i].kid) == NULL) {
                    __builtin_trap();
                }
            }
            auth_keyset_free(&ks);
        }
        break;
    }
    return 0;
}
