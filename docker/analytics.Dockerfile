# syntax=docker/dockerfile:1.7
# analytics.Dockerfile -- image pms/analytics: pms-analytics, the Kafka
# consumer of topic patient with its FastCGI read API on 0.0.0.0:4002, as
# a non-root user.  One process: ECS's init process (initProcessEnabled)
# is PID 1.  The SQL migrations come along in /usr/share/pms/analytics/sql.
#
# Build from a clean tree at the repository root:
#   git archive HEAD | docker build -f docker/analytics.Dockerfile -t pms/analytics -

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
        librdkafka1 libpq5 libjansson4 libfcgi0ldbl libfcgi-bin spawn-fcgi ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent \
        --shell /usr/sbin/nologin pms
COPY --from=build /out/usr/sbin/pms-analytics /usr/sbin/
COPY --from=build /out/usr/share/pms/analytics/ /usr/share/pms/analytics/
COPY --from=build /src/docker/pms-exec /usr/local/bin/

ENV PMS_ANALYTICS_ADDR=0.0.0.0 \
    PMS_ANALYTICS_PORT=4002
USER 10001:10001
EXPOSE 4002
STOPSIGNAL SIGTERM
# pms-analytics serves FastCGI on the socket it is handed on fd 0, so
# spawn-fcgi binds PMS_ANALYTICS_ADDR:PORT; those two are its, not the
# daemon's (which would warn about them): pms-exec passes on only the
# names pms-analytics reads.
CMD ["/bin/sh", "-c", "exec /usr/local/bin/pms-exec /usr/sbin/pms-analytics /usr/bin/spawn-fcgi -n -a \"$PMS_ANALYTICS_ADDR\" -p \"$PMS_ANALYTICS_PORT\" -- /usr/sbin/pms-analytics"]
