# syntax=docker/dockerfile:1.7
# patient.Dockerfile -- image pms/patient: pms-patient (the pre-forked
# FastCGI workers, on 0.0.0.0:4000 through spawn-fcgi) and pms-relay (the
# outbox relay to Kafka), both under supervisord, as a non-root user.
# The SQL migrations come along in /usr/share/pms/patient/sql.  Both get
# the task's one environment; pms-exec hands each only the PMS_* names it
# reads (so neither warns about the other's).
#
# Build from a clean tree at the repository root:
#   git archive HEAD | docker build -f docker/patient.Dockerfile -t pms/patient -

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
        spawn-fcgi supervisor libfcgi-bin libfcgi0ldbl libjansson4 libpq5 \
        libgrpc29 libprotobuf-c1 librdkafka1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent \
        --shell /usr/sbin/nologin pms \
 && install -d -o pms -g pms /run/pms
COPY --from=build /out/usr/sbin/pms-patient /out/usr/sbin/pms-relay /usr/sbin/
COPY --from=build /out/usr/share/pms/patient/ /usr/share/pms/patient/
COPY --from=build /src/docker/pms-exec /usr/local/bin/

COPY <<'EOF' /etc/pms/supervisord.conf
[supervisord]
nodaemon=true
logfile=/dev/null
logfile_maxbytes=0
pidfile=/run/pms/supervisord.pid

[program:patient]
command=/usr/local/bin/pms-exec /usr/sbin/pms-patient /usr/bin/spawn-fcgi -n -a 0.0.0.0 -p %(ENV_PMS_PATIENT_PORT)s -- /usr/sbin/pms-patient
priority=10
autorestart=true
stopsignal=TERM
stopwaitsecs=20
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0

[program:relay]
command=/usr/local/bin/pms-exec /usr/sbin/pms-relay
priority=20
autorestart=true
stopsignal=TERM
stopwaitsecs=20
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
EOF

ENV PMS_PATIENT_PORT=4000
USER 10001:10001
EXPOSE 4000
STOPSIGNAL SIGTERM
CMD ["/usr/bin/supervisord", "-c", "/etc/pms/supervisord.conf"]
