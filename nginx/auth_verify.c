/*
 * auth_verify.c -- the token rules of the gateway, in the order the
 * strictest JWT gateways apply them: size and shape first, then the
 * pinned algorithm and kid (so alg=none and HS256-with-the-public-key
 * confusion never reach a verifier), the signature, and only then the
 * claims.  It never logs or keeps the token.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "auth_verify.h"

#define VERIFY_MAX_DATE 253402300799.0 /* 9999-12-31T23:59:59Z */

static auth_result_t
verify_fail(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return AUTH_INVALID;
}

static int
verify_shape(const char *t, size_t len)
{
    size_t i, dots = 0, seg = 0;

    for (i = 0; i < len; i++) {
        char c = t[i];

        if (c == '.') {
            if (seg == 0) {
                return 0;
            }
            dots++;
            seg = 0;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            seg++;
        } else {
            return 0;
        }
    }
    return dots == 2 && seg > 0;
}

static int
verify_number(json_t *claims, const char *name, long *out)
{
    json_t *v = json_object_get(claims, name);
    double  d;

    if (v == NULL) {
        return 0;
    }
    if (!json_is_number(v)) {
        return -1;
    }
    d = json_number_value(v);
    /* NumericDate: seconds from 1970 up to year 9999; anything else (and
     * NaN) is refused before the cast, which would be undefined for it */
    if (!(d >= 0.0 && d <= VERIFY_MAX_DATE)) {
        return -1;
    }
    *out = (long) d;
    return 1;
}

static int
verify_in_list(const char *list, const char *item)
{
    size_t      n = strlen(item);
    const char *p = list;

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t      len = comma ? (size_t) (comma - p) : strlen(p);

        if (len == n && strncmp(p, item, n) == 0) {
            return 1;
        }
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

int
auth_has_role(const char *roles, const char *role)
{
    return role[0] != '\0' && verify_in_list(roles, role);
}

static int
verify_audience(json_t *aud, const char *audience)
{
    size_t  i;
    json_t *v;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), audience) == 0;
    }
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
verify_roles(json_t *claims, char *out, size_t outlen)
{
    json_t *roles =
        json_object_get(json_object_get(claims, "realm_access"), "roles");
    size_t  i, used = 0;
    json_t *v;

    out[0] = '\0';
    json_array_foreach(roles, i, v)
    {
        const char *r = json_string_value(v);
        size_t      n;

        if (r == NULL || strchr(r, ',') != NULL) {
            continue;
        }
        n = strlen(r);
        if (used + n + 2 > outlen) {
            break;
        }
        if (used > 0) {
            out[used++] = ',';
        }
        memcpy(out + used, r, n + 1);
        used += n;
    }
}

static auth_result_t
verify_claims(json_t *claims, const auth_policy_t *p, long now,
    auth_identity_t *id, char *why, size_t whylen)
{
    long        exp, nbf, iat;
    const char *iss, *azp, *sub;

    if (verify_number(claims, "exp", &exp) != 1) {
        return verify_fail(why, whylen, "the token has no valid exp");
    }
    if (now > exp + p->leeway) {
        return verify_fail(why, whylen, "the token has expired");
    }
    switch (verify_number(claims, "nbf", &nbf)) {
    case -1:
        return verify_fail(why, whylen, "the token has an invalid nbf");
    case 1:
        if (now + p->leeway < nbf) {
            return verify_fail(why, whylen, "the token is not valid yet");
        }
    }
    switch (verify_number(claims, "iat", &iat)) {
    case -1:
        return verify_fail(why, whylen, "the token has an invalid iat");
    case 1:
        if (iat > now + p->leeway) {
            return verify_fail(why, whylen,
                "the token was issued in the future");
        }
    }
    iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL || strcmp(iss, p->issuer) != 0) {
        return verify_fail(why, whylen, "the token has the wrong issuer");
    }
    if (p->audience[0] != '\0'
        && !verify_audience(json_object_get(claims, "aud"), p->audience)) {
        return verify_fail(why, whylen, "the token is not meant for this API");
    }
    azp = json_string_value(json_object_get(claims, "azp"));
    if (p->clients[0] != '\0'
        && (azp == NULL || !verify_in_list(p->clients, azp))) {
        return verify_fail(why, whylen, "the token's client is not allowed");
    }
    sub = json_string_value(json_object_get(claims, "sub"));
    snprintf(id->sub, sizeof(id->sub), "%s", sub ? sub : "");
    snprintf(id->azp, sizeof(id->azp), "%s", azp ? azp : "");
    verify_roles(claims, id->roles, sizeof(id->roles));
    id->exp = exp;
    return AUTH_OK;
}

auth_result_t
auth_verify(const char *token, size_t len, const auth_policy_t *policy,
    long now, auth_key_lookup_fn lookup, void *lookup_ctx, auth_identity_t *id,
    char *why, size_t whylen)
{
    cjose_err          err;
    cjose_jws_t       *jws;
    cjose_header_t    *hdr;
    const cjose_jwk_t *key;
    const char        *alg, *kid;
    uint8_t           *plain = NULL;
    size_t             plain_len = 0;
    json_t            *claims;
    json_error_t       jerr;
    auth_result_t      rc;

    if (len > AUTH_MAX_TOKEN) {
        return verify_fail(why, whylen, "the token is too large");
    }
    if (!verify_shape(token, len)) {
        return verify_fail(why, whylen, "the token is not a compact JWS");
    }
    jws = cjose_jws_import(token, len, &err);
    if (jws == NULL) {
        return verify_fail(why, whylen, "the token does not decode");
    }
    hdr = cjose_jws_get_protected(jws);
    alg = json_string_value(json_object_get((json_t *) hdr, "alg"));
    kid = json_string_value(json_object_get((json_t *) hdr, "kid"));
    if (alg == NULL || strcmp(alg, "RS256") != 0) {
        cjose_jws_release(jws);
        return verify_fail(why, whylen, "only RS256 tokens are accepted");
    }
    if (kid == NULL || kid[0] == '\0' || strlen(kid) > 128) {
        cjose_jws_release(jws);
        return verify_fail(why, whylen, "the token has no kid");
    }
    key = lookup(lookup_ctx, kid);
    if (key == NULL) {
        cjose_jws_release(jws);
        snprintf(why, whylen, "no signing key has this kid");
        return AUTH_UNKNOWN_KID;
    }
    if (!cjose_jws_verify(jws, key, &err)
        || !cjose_jws_get_plaintext(jws, &plain, &plain_len, &err)) {
        cjose_jws_release(jws);
        return verify_fail(why, whylen, "the token's signature is invalid");
    }
    claims = json_loadb((const char *) plain, plain_len, 0, &jerr);
    cjose_jws_release(jws); /* plain belongs to jws */
    if (!json_is_object(claims)) {
        json_decref(claims);
        return verify_fail(why, whylen, "the token's claims are not an object");
    }
    rc = verify_claims(claims, policy, now, id, why, whylen);
    json_decref(claims);
    return rc;
}
