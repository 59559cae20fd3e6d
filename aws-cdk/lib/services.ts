// services.ts -- the tables the stack is built from: one row per Fargate
// service (process group), one per database, and the network paths that
// are allowed between them.  The stack (pms-stack.ts) only walks these
// tables; changing a port, a size or an allowed path happens here.
// Names double as Cloud Map names, ECR repositories (pms/<name>) and
// Dockerfiles (docker/<name>.Dockerfile).

export type ServiceName = 'gateway' | 'patient' | 'billing' | 'analytics' | 'keycloak';
export type DatabaseName = 'patients' | 'billing' | 'analytics' | 'keycloak';

export const NAMESPACE = 'patient-management.local';
export const REALM = 'patient-management';
export const KAFKA_TLS_PORT = 9094;
export const POSTGRES_PORT = 5432;
/** pms-auth, in the gateway's task, on 127.0.0.1 only. */
export const AUTH_HELPER_PORT = 4003;
/** What the gateway accepts in tokens (keycloak/README.md). */
export const OIDC_AUDIENCE = 'patient-api';
export const OIDC_CLIENTS = ['ms-api', 'ms-readonly'];

export interface ServiceSpec {
    readonly name: ServiceName;
    /** What runs in the one container of the task. */
    readonly processes: string;
    /** The port other tasks (or the load balancer) reach it on. */
    readonly port: number;
    readonly cpu: number;
    readonly memoryMiB: number;
    readonly desiredCount: number;
    /** The database this service owns, if any. */
    readonly database?: DatabaseName;
    /** Does it talk to Kafka (MSK)? */
    readonly kafka: boolean;
    /** Container health check: a shell command run inside the container.
     *  It checks the process answers, not that its dependencies do, so a
     *  database outage does not make ECS kill healthy tasks. */
    readonly healthCheck: string;
    /** Seconds before failed health checks count. */
    readonly startPeriodSeconds: number;
}

/** The FastCGI ping: cgi-fcgi (libfcgi-bin) connects, sends an empty
 *  request and exits 0 once the responder answers, 111 if nothing
 *  listens. */
const fcgiPing = (port: number): string =>
    `cgi-fcgi -bind -connect 127.0.0.1:${port} </dev/null >/dev/null`;

export const SERVICES: readonly ServiceSpec[] = [
    {
        name: 'gateway',
        processes: 'nginx (4004) + pms-auth FastCGI helper (127.0.0.1:4003) under supervisord',
        port: 4004,
        cpu: 512,
        memoryMiB: 1024,
        desiredCount: 2,
        kafka: false,
        // Any HTTP answer from nginx (even a 502 while the patient service
        // is down) means nginx is alive; the auth helper must answer too.
        healthCheck: 'curl -sS -o /dev/null --max-time 3 http://127.0.0.1:4004/health'
            + ` && ${fcgiPing(AUTH_HELPER_PORT)}`,
        startPeriodSeconds: 30,
    },
    {
        name: 'patient',
        processes: 'pms-patient pre-forked FastCGI workers (4000) + pms-relay outbox relay under supervisord',
        port: 4000,
        cpu: 512,
        memoryMiB: 1024,
        desiredCount: 2,
        database: 'patients',
        kafka: true,
        healthCheck: fcgiPing(4000),
        startPeriodSeconds: 30,
    },
    {
        name: 'billing',
        processes: 'pms-billing gRPC server (9001)',
        port: 9001,
        cpu: 256,
        memoryMiB: 512,
        desiredCount: 2,
        database: 'billing',
        kafka: false,
        healthCheck: "bash -c '</dev/tcp/127.0.0.1/9001'",
        startPeriodSeconds: 30,
    },
    {
        name: 'analytics',
        processes: 'pms-analytics Kafka consumer + FastCGI read API (4002)',
        port: 4002,
        cpu: 256,
        memoryMiB: 512,
        // One consumer keeps the aggregates simple; Kafka's group
        // rebalancing would allow more.
        desiredCount: 1,
        database: 'analytics',
        kafka: true,
        healthCheck: fcgiPing(4002),
        startPeriodSeconds: 30,
    },
    {
        name: 'keycloak',
        processes: 'Keycloak 26 (8080, management 9000), realm patient-management imported at start',
        port: 8080,
        cpu: 1024,
        memoryMiB: 2048,
        desiredCount: 1,
        database: 'keycloak',
        kafka: false,
        // The image has bash but no curl: ask the management port's
        // readiness endpoint over /dev/tcp, bash builtins only.
        healthCheck: "bash -c 'exec 3<>/dev/tcp/127.0.0.1/9000"
            + ' && printf "GET /health/ready HTTP/1.0\\r\\n\\r\\n" >&3'
            + ' && read -r status <&3 && [[ $status == *" 200 "* ]]\'',
        startPeriodSeconds: 180,
    },
];

export interface DatabaseSpec {
    readonly name: DatabaseName;
    readonly owner: ServiceName;
    /** Master user; the owning service connects as this user. */
    readonly username: string;
}

export const DATABASES: readonly DatabaseSpec[] = [
    { name: 'patients', owner: 'patient', username: 'pms_patients' },
    { name: 'billing', owner: 'billing', username: 'pms_billing' },
    { name: 'analytics', owner: 'analytics', username: 'pms_analytics' },
    { name: 'keycloak', owner: 'keycloak', username: 'pms_keycloak' },
];

/** Allowed service-to-service paths (besides the load balancer's), on
 *  the target's port.  Nothing else can reach a service. */
export const SERVICE_PATHS: readonly { from: ServiceName; to: ServiceName; why: string }[] = [
    { from: 'gateway', to: 'patient', why: 'nginx to the patient FastCGI upstream' },
    { from: 'gateway', to: 'analytics', why: 'nginx to the analytics FastCGI upstream' },
    { from: 'gateway', to: 'keycloak', why: 'auth helper fetches the realm JWKS' },
    { from: 'patient', to: 'billing', why: 'patient creates billing accounts over gRPC' },
];

/** Services the load balancer forwards to, and on which paths. */
export const PUBLIC_ROUTES: readonly { to: ServiceName; paths: string[]; healthPath: string }[] = [
    { to: 'gateway', paths: [], healthPath: '/health' },
    // Token endpoint, JWKS and login pages; the admin console is not routed.
    { to: 'keycloak', paths: ['/realms/*', '/resources/*'],
      healthPath: `/realms/${REALM}/.well-known/openid-configuration` },
];

export function serviceSpec(name: ServiceName): ServiceSpec {
    const s = SERVICES.find((x) => x.name === name);
    if (s === undefined) {
        throw new Error(`no service named ${name}`);
    }
    return s;
}

/** "patient" -> "Patient", for construct ids. */
export function titleCase(s: string): string {
    return s.charAt(0).toUpperCase() + s.slice(1);
}
