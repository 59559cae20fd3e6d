# syntax=docker/dockerfile:1.7
# billing.Dockerfile -- image pms/billing: pms-billing, the gRPC
# BillingService (and grpc.health.v1) on 0.0.0.0:9001, as a non-root
# user.  One process: ECS's init process (initProcessEnabled) is PID 1.
# The SQL migrations come along in /usr/share/pms/billing/sql.
#
# Build from a clean tree at the repository root:
#   git archive HEAD | docker build -f docker/billing.Dockerfile -t pms/billing -

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
        libgrpc29 libprotobuf-c1 libpq5 libjansson4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent \
        --shell /usr/sbin/nologin pms
COPY --from=build /out/usr/sbin/pms-billing /usr/sbin/
COPY --from=build /out/usr/share/pms/billing/ /usr/share/pms/billing/

ENV PMS_BILLING_LISTEN=0.0.0.0:9001
USER 10001:10001
EXPOSE 9001
STOPSIGNAL SIGTERM
CMD ["/usr/sbin/pms-billing"]
