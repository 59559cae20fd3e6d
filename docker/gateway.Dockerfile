# syntax=docker/dockerfile:1.7
# gateway.Dockerfile -- image pms/gateway: nginx (the API gateway, 4004)
# and pms-auth (the JWT helper nginx asks through auth_request, FastCGI on
# 127.0.0.1:4003), both under supervisord, as a non-root user.  nginx's
# configuration is the repository's nginx/*.conf.tmpl, rendered at start
# from the container's PMS_* variables (aws-cdk/ sets them); it serves the
# installed api/openapi.json from under PMS_PREFIX (/usr here).
#
# Build from a clean tree at the repository root:
#   git archive HEAD | docker build -f docker/gateway.Dockerfile -t pms/gateway -

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential autoconf automake pkg-config \
        libjansson-dev libpq-dev check libsubunit-dev libfcgi-dev \
        libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libgrpc-dev \
        librdkafka-dev libcjose-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && ./configure --prefix=/usr --sysconfdir=/etc \
 && make -j"$(nproc)" \
 && make install DESTDIR=/out

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx-light libnginx-mod-http-ndk libnginx-mod-http-set-misc \
        spawn-fcgi supervisor gettext-base curl ca-certificates \
        libfcgi-bin libfcgi0ldbl libjansson4 libcjose0 libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent \
        --shell /usr/sbin/nologin pms \
 && install -d -o pms -g pms /run/pms
COPY --from=build /out/usr/sbin/pms-auth /usr/sbin/
COPY --from=build /out/usr/share/pms/nginx/ /usr/share/pms/nginx/
COPY --from=build /out/usr/share/pms/api/ /usr/share/pms/api/
COPY --from=build /src/docker/pms-exec /usr/local/bin/

COPY <<'EOF' /etc/pms/supervisord.conf
[supervisord]
nodaemon=true
logfile=/dev/null
logfile_maxbytes=0
pidfile=/run/pms/supervisord.pid

[program:auth]
command=/usr/local/bin/pms-exec /usr/sbin/pms-auth /usr/bin/spawn-fcgi -n -a 127.0.0.1 -p %(ENV_PMS_AUTH_PORT)s -- /usr/sbin/pms-auth
priority=10
autorestart=true
stopsignal=TERM
stopwaitsecs=10
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0

[program:nginx]
command=/usr/sbin/nginx -e stderr -c /run/pms/etc/nginx.conf -g "daemon off;"
priority=20
autorestart=true
stopsignal=QUIT
stopwaitsecs=15
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
EOF

# Renders every nginx template with the PMS_* variables only (nginx's own
# $variables stay), sends nginx's log files to the container's output,
# then hands over to supervisord.
COPY --chmod=755 <<'EOF' /usr/local/bin/pms-gateway
#!/bin/sh
set -eu
mkdir -p "$PMS_RUN/etc" "$PMS_RUN/log" "$PMS_RUN/nginx/tmp" "$PMS_RUN/nginx/cache"
ln -sf /dev/stdout "$PMS_RUN/log/nginx-access.log"
ln -sf /dev/stderr "$PMS_RUN/log/nginx-error.log"
export PMS_PATIENT_UPSTREAM="${PMS_PATIENT_UPSTREAM:-$PMS_PATIENT_HOST:$PMS_PATIENT_PORT}"
vars=$(env | sed -n 's/^\(PMS_[A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
for t in /usr/share/pms/nginx/*.conf.tmpl; do
    envsubst "$vars" <"$t" >"$PMS_RUN/etc/$(basename "$t" .tmpl)"
done
/usr/sbin/nginx -e stderr -t -q -c "$PMS_RUN/etc/nginx.conf"
exec /usr/bin/supervisord -c /etc/pms/supervisord.conf
EOF

# The metrics listener stays on the task's loopback.  It reaches pms-auth,
# pms-patient and pms-analytics through their upstreams; billing and relay
# run in other tasks whose metrics sockets it does not reach, so they show
# as pms_<name>_up 0 here.
ENV PMS_RUN=/run/pms \
    PMS_HTTP_ADDR=0.0.0.0 \
    PMS_HTTP_PORT=4004 \
    PMS_AUTH_PORT=4003 \
    PMS_PATIENT_PORT=4000 \
    PMS_NGINX_WORKERS=auto \
    PMS_NGINX_USER_LINE= \
    PMS_METRICS_ADDR=127.0.0.1 \
    PMS_METRICS_PORT=9464 \
    PMS_BILLING_METRICS=127.0.0.1:9473 \
    PMS_RELAY_METRICS=127.0.0.1:9474 \
    PMS_PREFIX=/usr
USER 10001:10001
EXPOSE 4004
STOPSIGNAL SIGTERM
CMD ["/usr/local/bin/pms-gateway"]
