# syntax=docker/dockerfile:1.7
# keycloak.Dockerfile -- image pms/keycloak: Keycloak built for
# PostgreSQL with health endpoints (management port 9000), realm
# patient-management imported on first start.  The realm file is the
# repository's keycloak/realm-patient-management.json.tmpl; Keycloak fills
# its ${PMS_MS_API_SECRET} and ${PMS_MS_READONLY_SECRET} placeholders from
# the environment (ECS secrets in aws-cdk/).  Runs as Keycloak's own
# non-root user (1000).
#
# Build from a clean tree at the repository root:
#   git archive HEAD | docker build -f docker/keycloak.Dockerfile -t pms/keycloak -

ARG KEYCLOAK_VERSION=26.3.5

FROM quay.io/keycloak/keycloak:${KEYCLOAK_VERSION} AS build
ENV KC_DB=postgres \
    KC_HEALTH_ENABLED=true
RUN /opt/keycloak/bin/kc.sh build

FROM quay.io/keycloak/keycloak:${KEYCLOAK_VERSION}
COPY --from=build /opt/keycloak/ /opt/keycloak/
COPY --chown=1000:0 keycloak/realm-patient-management.json.tmpl \
     /opt/keycloak/data/import/realm-patient-management.json
USER 1000
EXPOSE 8080 9000
ENTRYPOINT ["/opt/keycloak/bin/kc.sh"]
CMD ["start", "--optimized", "--import-realm"]
