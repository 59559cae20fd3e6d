# scripts/46-kafka.sh -- Apache Kafka from Maven Central
# (org.apache.kafka:kafka_2.13 and its runtime dependencies, copied by
# maven-dependency-plugin into the cache), formatted once as a KRaft
# single node in $PMS_RUN/kafka and run under supervisord.  pms-relay
# creates the topic (PMS_KAFKA_PARTITIONS partitions) when it starts.

: "${PMS_KAFKA_VERSION:=3.9.1}"
: "${PMS_KAFKA_PORT:=9092}"
: "${PMS_KAFKA_CONTROLLER_PORT:=9093}"
: "${PMS_KAFKA_TLS_PORT:=9094}"
: "${PMS_ANALYTICS_TLS_PORT:=4012}"
: "${PMS_KAFKA_TOPIC:=patient}"
: "${PMS_KAFKA_PARTITIONS:=3}"
: "${PMS_KAFKA_HEAP:=-Xms128m -Xmx384m}"
export PMS_KAFKA_VERSION PMS_KAFKA_PORT PMS_KAFKA_CONTROLLER_PORT PMS_KAFKA_TOPIC \
       PMS_KAFKA_PARTITIONS PMS_KAFKA_HEAP PMS_KAFKA_TLS_PORT PMS_ANALYTICS_TLS_PORT
export PMS_KAFKA_BROKERS="127.0.0.1:$PMS_KAFKA_PORT"
export PMS_KAFKA_LIB="$PMS_CACHE/kafka-$PMS_KAFKA_VERSION/lib"
command -v java >/dev/null 2>&1 || PMS_APT_PACKAGES+=(openjdk-17-jre-headless)
PMS_APT_PACKAGES+=(openssl)
command -v mvn >/dev/null 2>&1 || PMS_APT_PACKAGES+=(maven)

pms_kafka_fetch() {
    local dir="$PMS_CACHE/kafka-$PMS_KAFKA_VERSION"
    [ -f "$dir/.complete" ] && return 0
    pms_say "fetching Apache Kafka $PMS_KAFKA_VERSION from Maven Central"
    mkdir -p "$dir" "$PMS_CACHE/m2"
    cat > "$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pms.local</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$PMS_KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
    (cd "$dir" && mvn -q -B -Dmaven.repo.local="$PMS_CACHE/m2" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DoutputDirectory=lib -DincludeScope=runtime >/dev/null) \
        || pms_die "could not fetch kafka_2.13 $PMS_KAFKA_VERSION"
    touch "$dir/.complete"
}

# The TLS listener's CA and broker certificate (for 127.0.0.1), made once
# with openssl; the PKCS12 keystore's password is random and stays in the
# folder (mode 0700).  Clients trust ca.pem (PMS_KAFKA_CA_LOCATION).
pms_kafka_tls() {
    local dir="$PMS_RUN/kafka/tls"
    [ -f "$dir/broker.p12" ] && [ -f "$dir/password" ] && return 0
    pms_say "making the Kafka TLS listener's CA and certificate (openssl)"
    rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
    (umask 077; head -c 18 /dev/urandom | base64 | tr '/+' '_-' > "$dir/password")
    (cd "$dir" \
        && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pms test CA" \
               -keyout ca.key -out ca.pem \
        && openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
               -keyout broker.key -out broker.csr \
        && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > broker.ext \
        && openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
               -days 3650 -extfile broker.ext -out broker.pem \
        && openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem \
               -name broker -passout "file:password" -out broker.p12) \
        >"$PMS_RUN/log/kafka-tls.log" 2>&1 \
        || { cat "$PMS_RUN/log/kafka-tls.log"; pms_die "making the Kafka TLS certificate failed"; }
    chmod 600 "$dir"/*
    chmod 644 "$dir/ca.pem"
    chmod 755 "$dir"
}

pms_kafka_prepare() {
    pms_kafka_fetch
    mkdir -p "$PMS_RUN/kafka" "$PMS_RUN/log"
    pms_kafka_tls
    pms_render "$PMS_SRC/kafka-analytics/kafka-server.properties.tmpl" \
        "$PMS_RUN/kafka/server.properties"
    { printf 'ssl.keystore.password=%s\n' "$(cat "$PMS_RUN/kafka/tls/password")"
      printf 'ssl.key.password=%s\n' "$(cat "$PMS_RUN/kafka/tls/password")"
    } >> "$PMS_RUN/kafka/server.properties"
    chmod 600 "$PMS_RUN/kafka/server.properties"
    cp "$PMS_SRC/kafka-analytics/kafka-log4j.properties" "$PMS_RUN/kafka/log4j.properties"
    if [ ! -f "$PMS_RUN/kafka/data/meta.properties" ]; then
        pms_say "formatting Kafka storage (KRaft)"
        java -cp "$PMS_KAFKA_LIB/*" -Dlog4j.configuration="file:$PMS_RUN/kafka/log4j.properties" \
            kafka.tools.StorageTool format -g -t "$(head -c 16 /dev/urandom | base64 | tr '/+' '_-' | cut -c1-22)" \
            -c "$PMS_RUN/kafka/server.properties" >"$PMS_RUN/log/kafka-format.log" 2>&1 \
            || { cat "$PMS_RUN/log/kafka-format.log"; pms_die "kafka storage format failed"; }
    fi
    if pms_is_root; then
        chown -R pms: "$PMS_RUN/kafka"
    fi
}
PMS_HOOK_PREPARE+=(pms_kafka_prepare)

pms_kafka_ready() {
    kcat -b "$PMS_KAFKA_BROKERS" -L -t "$PMS_KAFKA_TOPIC" -m 2 2>/dev/null \
        | grep -q "topic \"$PMS_KAFKA_TOPIC\" with $PMS_KAFKA_PARTITIONS partitions"
}

pms_kafka_wait() {
    pms_wait_for "Kafka and topic $PMS_KAFKA_TOPIC" "${PMS_KAFKA_TIMEOUT:-120}" pms_kafka_ready
}
PMS_HOOK_READY+=(pms_kafka_wait)

# pms-analytics: its database and migrations.
: "${PMS_ANALYTICS_PORT:=4002}"
export PMS_ANALYTICS_PORT
PMS_DATABASES+=(analytics)

pms_analytics_prepare() {
    export PMS_ANALYTICS_DB
    PMS_ANALYTICS_DB="$(pms_pg_dsn analytics)"
    PMS_ANALYTICS_DB="$PMS_ANALYTICS_DB" \
    PMS_ANALYTICS_SQL_DIR="$PMS_PREFIX/share/pms/analytics/sql" \
        "$PMS_PREFIX/sbin/pms-analytics" --migrate >/dev/null 2>"$PMS_RUN/migrate-analytics.log" \
        || { cat "$PMS_RUN/migrate-analytics.log" >&2; pms_die "analytics migrations failed"; }
}
PMS_HOOK_PREPARE+=(pms_analytics_prepare)
