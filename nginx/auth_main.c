/*
 * auth_main.c -- pms-auth, the gateway's token checker: a FastCGI
 * responder behind nginx auth_request.  spawn-fcgi (-n) hands it the
 * socket on fd 0; worker threads share one key store, one rate limit for
 * JWKS fetches and one verified-token cache.  It answers 204 with the
 * identity headers, 401 with an RFC 6750 challenge, 403 when the role the
 * location requires (PMS_REQUIRED_ROLE, set per internal auth location) is
 * missing, or 503 when no signing key could ever be fetched.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "auth_cache.h"
#include "auth_jwks.h"
#include "auth_verify.h"
#include "pms_config.h"
#include "pms_daemon.h"
#include "pms_log.h"
#include "pms_serve.h"

#define AUTH_REALM "patient-management"

static const char *cfg_issuer;
static const char *cfg_jwks_url;
static const char *cfg_audience;
static const char *cfg_clients;
static long        cfg_leeway;
static long        cfg_refetch;
static long        cfg_ttl;
static long        cfg_threads;
static int         cfg_cache;
static long        cfg_gateway_cache;
static int         cfg_debug;

static const pms_conf_entry_t auth_config[] = {
    { "PMS_OIDC_ISSUER", PMS_CONF_STR,
        "http://127.0.0.1:8080/realms/patient-management", 1, 512,
        "the exact iss of accepted tokens", &cfg_issuer },
    { "PMS_OIDC_JWKS_URL", PMS_CONF_STR, "", 0, 512,
        "the realm's JWKS (default: ISSUER/protocol/openid-connect/certs)",
        &cfg_jwks_url },
    { "PMS_OIDC_AUDIENCE", PMS_CONF_STR, "patient-api", 0, 128,
        "a value aud must contain (empty: not checked)", &cfg_audience },
    { "PMS_OIDC_CLIENTS", PMS_CONF_STR, "ms-api,ms-readonly", 0, 512,
        "clients (azp) allowed, comma-separated (empty: any)", &cfg_clients },
    { "PMS_OIDC_LEEWAY", PMS_CONF_INT, "60", 0, 600,
        "seconds of clock skew allowed on exp, nbf and iat", &cfg_leeway },
    { "PMS_OIDC_REFETCH_S", PMS_CONF_INT, "10", 1, 3600,
        "at most one JWKS fetch per this many seconds", &cfg_refetch },
    { "PMS_OIDC_JWKS_TTL", PMS_CONF_INT, "300", 10, 86400,
        "refetch the JWKS when the last fetch is older than this", &cfg_ttl },
    { "PMS_AUTH_THREADS", PMS_CONF_INT, "4", 1, 64,
        "threads answering auth subrequests", &cfg_threads },
    { "PMS_AUTH_CACHE", PMS_CONF_BOOL, "true", 0, 0,
        "cache verified tokens (by SHA-256) until exp", &cfg_cache },
    { "PMS_AUTH_GATEWAY_CACHE_S", PMS_CONF_INT, "30", 0, 3600,
        "seconds nginx may reuse an acceptance (never past the token's exp; 0: never)",
        &cfg_gateway_cache },
    { "PMS_DEBUG", PMS_CONF_BOOL, "false", 0, 0, "log at debug level",
        &cfg_debug },
};

static const pms_daemon_conf_t auth_conf[] = {
    { auth_config, sizeof(auth_config) / sizeof(auth_config[0]) },
};

static const pms_daemon_t auth_daemon = {
    "pms-auth", "auth", "usage: spawn-fcgi -n -a 127.0.0.1 -p 4003 -- %1$s\n",
    auth_conf, 1, &cfg_debug,
    NULL, /* metrics: answered on its FastCGI socket */
};

typedef struct {
    auth_policy_t policy;
    auth_jwks_t  *jwks;
    auth_cache_t *cache;
} auth_ctx_t;

static volatile sig_atomic_t auth_stop;

static const cjose_jwk_t *
auth_lookup(void *ctx, const char *kid)
{
    return auth_keyset_find(ctx, kid);
}

static auth_result_t
auth_check(auth_ctx_t *a, const char *token, size_t len, auth_identity_t *id,
    char *why, size_t whylen)
{
    const auth_keyset_t *keys;
    auth_result_t        rc;

    keys = auth_jwks_lock(a->jwks);
    rc = auth_verify(token, len, &a->policy, (long) time(NULL), auth_lookup,
        (void *) keys, id, why, whylen);
    auth_jwks_unlock(a->jwks);
    return rc;
}

static void
auth_challenge(pms_resp_t *resp, int status, const char *error,
    const char *description, const char *scope)
{
    char value[400];

    if (error == NULL) {
        snprintf(value, sizeof(value), "Bearer realm=\"%s\"", AUTH_REALM);
    } else if (scope != NULL) {
        snprintf(value, sizeof(value),
            "Bearer realm=\"%s\", error=\"%s\", error_description=\"%s\", scope=\"%s\"",
            AUTH_REALM, error, description, scope);
    } else {
        snprintf(value, sizeof(value),
            "Bearer realm=\"%s\", error=\"%s\", error_description=\"%s\"",
            AUTH_REALM, error, description);
    }
    resp->status = status;
    pms_resp_header(resp, "WWW-Authenticate", "%s", value);
}

/*
 * Lets nginx cache this acceptance (keyed by a hash of the token and the
 * role, see pms-auth.conf) for at most PMS_AUTH_GATEWAY_CACHE_S seconds
 * and never beyond the token's own exp, so an expired token always comes
 * back here.  Refusals are never cached.
 */
static void
auth_gateway_ttl(pms_resp_t *resp, long exp)
{
    long ttl = exp - (long) time(NULL);

    if (ttl > cfg_gateway_cache) {
        ttl = cfg_gateway_cache;
    }
    if (ttl > 0) {
        pms_resp_header(resp, "X-Accel-Expires", "%ld", ttl);
    }
}

static void
auth_handle(void *vctx, pms_req_t *req, pms_resp_t *resp)
{
    auth_ctx_t     *a = vctx;
    const char     *role = pms_req_param(req, "PMS_REQUIRED_ROLE");
    const char     *authz = pms_req_param(req, "HTTP_AUTHORIZATION");
    const char     *token;
    auth_identity_t id;
    unsigned char   digest[32];
    char            why[128];
    auth_result_t   rc;
    size_t          len;
    int             use_cache;

    resp->route = role == NULL                ? "other"
        : strcmp(role, "patient-reader") == 0 ? "check patient-reader"
        : strcmp(role, "patient-writer") == 0 ? "check patient-writer"
                                              : "check other";
    if (role == NULL || role[0] == '\0') {
        pms_error(
            "auth subrequest without PMS_REQUIRED_ROLE: check nginx.conf");
        resp->status = 500;
        return;
    }
    if (authz == NULL || strncasecmp(authz, "Bearer", 6) != 0
        || (authz[6] != ' ' && authz[6] != '\0')) {
        auth_challenge(resp, 401, NULL, NULL, NULL); /* no credentials */
        return;
    }
    token = authz + 6;
    while (*token == ' ') {
        token++;
    }
    len = strlen(token);
    while (len > 0 && token[len - 1] == ' ') {
        len--;
    }
    if (len == 0) {
        auth_challenge(resp, 401, "invalid_token", "the bearer token is empty",
            NULL);
        return;
    }
    if (auth_jwks_stale(a->jwks)) {
        (void) auth_jwks_refresh(a->jwks); /* rate-limited inside */
    }
    /* without a digest the cache is bypassed: every check is then full */
    use_cache = cfg_cache && auth_cache_digest(token, len, digest) == 0;
    if (!(use_cache
            && auth_cache_get(a->cache, digest, (long) time(NULL), &id))) {
        rc = auth_check(a, token, len, &id, why, sizeof(why));
        if (rc == AUTH_UNKNOWN_KID && auth_jwks_refresh(a->jwks) == 1) {
            rc = auth_check(a, token, len, &id, why, sizeof(why));
        }
        if (rc == AUTH_UNKNOWN_KID) {
            const auth_keyset_t *keys = auth_jwks_lock(a->jwks);
            size_t               nkeys = keys->n;

            auth_jwks_unlock(a->jwks);
            if (nkeys == 0) {
                /* never had keys: the IdP is unreachable, not the token bad */
                pms_warn("no signing keys available; answering 503");
                resp->status = 503;
                pms_resp_header(resp, "Retry-After", "10");
                return;
            }
        }
        if (rc != AUTH_OK) {
            pms_log_fields(PMS_LOG_INFO, json_pack("{s:s}", "role", role),
                "token refused: %s", why);
            auth_challenge(resp, 401, "invalid_token", why, NULL);
            return;
        }
        if (use_cache) {
            auth_cache_put(a->cache, digest, &id);
        }
    }
    if (!auth_has_role(id.roles, role)) {
        pms_log_fields(PMS_LOG_INFO,
            json_pack("{s:s, s:s}", "client", id.azp, "role", role),
            "role missing");
        auth_challenge(resp, 403, "insufficient_scope",
            "the token lacks the role this request needs", role);
        return;
    }
    resp->status = 204;
    pms_resp_header(resp, "X-Auth-Subject", "%s", id.sub);
    pms_resp_header(resp, "X-Auth-Client", "%s", id.azp);
    pms_resp_header(resp, "X-Auth-Roles", "%s", id.roles);
    auth_gateway_ttl(resp, id.exp);
}

static void *
auth_thread(void *arg)
{
    if (pms_serve(0, auth_handle, arg, &auth_stop) != 0) {
        pms_error("auth thread stopped on a socket error");
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    static char jwks_default[600];
    auth_ctx_t  a;
    pthread_t   threads[64];
    sigset_t    sigs;
    int         sig;

    pms_daemon_init(&auth_daemon, argc, argv);
    if (cfg_jwks_url[0] == '\0') {
        snprintf(jwks_default, sizeof(jwks_default),
            "%s/protocol/openid-connect/certs", cfg_issuer);
        cfg_jwks_url = jwks_default;
    }
    if (pms_daemon_fcgi_socket() != 0) {
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        pms_error("curl_global_init failed");
        return 1;
    }
    a.policy.issuer = cfg_issuer;
    a.policy.audience = cfg_audience;
    a.policy.clients = cfg_clients;
    a.policy.leeway = cfg_leeway;
    a.jwks = auth_jwks_new(cfg_jwks_url, cfg_refetch, cfg_ttl);
    a.cache = auth_cache_new();
    if (a.jwks == NULL || a.cache == NULL) {
        pms_error("out of memory");
        return 1;
    }
    (void) auth_jwks_refresh(a.jwks); /* a failure is retried on demand */

    pms_daemon_block(&sigs); /* threads inherit the mask */
    if (pms_daemon_threads(threads, (int) cfg_threads, auth_thread, &a,
            &auth_stop)
        != 0) {
        return 1;
    }
    pms_info("ready: issuer %s, %ld threads", cfg_issuer, cfg_threads);
    sig = pms_daemon_wait(&sigs);
    auth_stop = 1;
    pms_daemon_join(threads, (int) cfg_threads);
    auth_cache_free(a.cache);
    auth_jwks_free(a.jwks);
    curl_global_cleanup();
    pms_info("stopped on signal %d", sig);
    return 0;
}
