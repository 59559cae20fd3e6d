// pms-stack.ts -- the whole cloud layout of pms in one stack: VPC, ECS
// Fargate services registered in Cloud Map, one RDS PostgreSQL instance
// per service database, MSK, an internet-facing ALB in front of the
// gateway, one log group per service, Secrets Manager credentials handed
// to containers as ECS secrets.  It walks the tables in services.ts and
// never decides ports, sizes or allowed paths itself.
//
// target=localstack keeps every resource but makes the template
// deployable by an emulator: no bootstrap (BootstraplessSynthesizer, no
// assets), secrets created outside the stack and passed in as
// parameters, Kafka brokers from context, no NAT gateway (nor its Elastic
// IP, which LocalStack cannot allocate), and no Fn::GetAtt on resource
// types emulators do not model (see emulator.ts).
import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { useEmulatorRegistryArns } from './emulator';
import {
    AUTH_HELPER_PORT, DATABASES, DatabaseName, KAFKA_TLS_PORT, NAMESPACE, OIDC_AUDIENCE,
    OIDC_CLIENTS, POSTGRES_PORT, PUBLIC_ROUTES, REALM, SERVICE_PATHS, SERVICES, ServiceName,
    ServiceSpec, serviceSpec, titleCase,
} from './services';
import { PmsSettings } from './settings';

/** Subnet groups: tasks run in the app subnets, RDS and MSK in the data
 *  subnets (the public ones hold the load balancer and NAT gateways). */
const APP_SUBNETS = 'app';
const DATA_SUBNETS = 'data';

export interface PmsStackProps extends cdk.StackProps {
    readonly settings: PmsSettings;
}

/** Keycloak's bootstrap admin and the secrets of the realm's clients. */
interface KeycloakSecrets {
    readonly admin: secretsmanager.ISecret;
    readonly msApi: secretsmanager.ISecret;
    readonly msReadonly: secretsmanager.ISecret;
}

/** What a service's container needs to know about its database. */
interface DatabaseWiring {
    readonly instance: rds.DatabaseInstance;
    readonly secret: secretsmanager.ISecret;
}

export class PmsStack extends cdk.Stack {
    readonly settings: PmsSettings;
    readonly vpc: ec2.Vpc;
    readonly cluster: ecs.Cluster;
    readonly loadBalancer: elbv2.ApplicationLoadBalancer;
    readonly services = new Map<ServiceName, ecs.FargateService>();
    readonly databases = new Map<DatabaseName, DatabaseWiring>();

    private readonly emulator: boolean;
    /** localstack target: secrets deploy.sh creates, by parameter name
     *  (written to the template's Metadata under pms:emulatorSecrets). */
    private readonly emulatorSecrets: Record<string, { name: string; username: string }> = {};

    constructor(scope: Construct, id: string, props: PmsStackProps) {
        const emulator = props.settings.target === 'localstack';
        super(scope, id, {
            ...props,
            analyticsReporting: false,
            synthesizer: emulator
                ? new cdk.BootstraplessSynthesizer()
                : props.synthesizer,
        });
        this.settings = props.settings;
        this.emulator = emulator;
        cdk.Tags.of(this).add('project', 'pms');

        // The app subnets reach the internet (ECR, Secrets Manager, logs)
        // through a NAT gateway per AZ on AWS.  An emulator runs no task,
        // and LocalStack cannot allocate the NAT gateways' Elastic IPs,
        // so there the app subnets are isolated: no EIP, no NAT gateway,
        // no default route.  Everything selects subnets by group name.
        this.vpc = new ec2.Vpc(this, 'Vpc', {
            ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
            maxAzs: 2,
            natGateways: emulator ? 0 : 2,
            // true would add a custom resource (a Lambda asset), which an
            // emulator template cannot carry.
            restrictDefaultSecurityGroup: false,
            subnetConfiguration: [
                { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
                {
                    name: APP_SUBNETS,
                    subnetType: emulator
                        ? ec2.SubnetType.PRIVATE_ISOLATED
                        : ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidrMask: 22,
                },
                { name: DATA_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
            ],
        });

        for (const spec of DATABASES) {
            const secret = this.credentials(
                `${titleCase(spec.name)}DbCredentials`, `${spec.name}-db`,
                `master credentials of the ${spec.name} database`,
                spec.username);
            this.databases.set(spec.name, {
                instance: this.database(spec.name, secret),
                secret,
            });
        }
        const keycloak: KeycloakSecrets = {
            admin: this.credentials('KeycloakAdminCredentials', 'keycloak-admin',
                'Keycloak bootstrap admin', 'admin'),
            msApi: this.credentials('MsApiClientCredentials', 'client-ms-api',
                'client secret of Keycloak client ms-api', 'ms-api'),
            msReadonly: this.credentials('MsReadonlyClientCredentials', 'client-ms-readonly',
                'client secret of Keycloak client ms-readonly', 'ms-readonly'),
        };

        const kafkaSg = new ec2.SecurityGroup(this, 'KafkaSg', {
            vpc: this.vpc,
            description: 'MSK brokers: TLS from the patient relay and analytics only',
        });
        const kafkaBrokers = this.kafka(kafkaSg);

        this.cluster = new ecs.Cluster(this, 'Cluster', {
            vpc: this.vpc,
            clusterName: 'pms',
            containerInsightsV2: ecs.ContainerInsights.ENABLED,
            defaultCloudMapNamespace: {
                name: NAMESPACE,
                type: servicediscovery.NamespaceType.DNS_PRIVATE,
                vpc: this.vpc,
            },
        });

        this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
            vpc: this.vpc,
            internetFacing: true,
            vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
            dropInvalidHeaderFields: true,
        });
        const publicUrl = this.settings.publicUrl
            ?? `http://${this.loadBalancer.loadBalancerDnsName}`;

        for (const spec of SERVICES) {
            const env = this.containerEnvironment(spec, publicUrl, kafkaBrokers);
            const secrets = this.secrets(spec, keycloak);
            this.services.set(spec.name, this.service(spec, env, secrets));
        }

        this.routeLoadBalancer();
        this.allowPaths(kafkaSg);
        if (this.emulator) {
            useEmulatorRegistryArns(this, [...this.services.values()]);
            this.templateOptions.metadata = { 'pms:emulatorSecrets': this.emulatorSecrets };
        }

        new cdk.CfnOutput(this, 'LoadBalancerDns', {
            value: this.loadBalancer.loadBalancerDnsName,
            description: 'DNS name of the internet-facing load balancer',
        });
        new cdk.CfnOutput(this, 'PublicUrl', {
            value: publicUrl,
            description: 'base URL of the API (/api/...) and of Keycloak (/realms/...)',
        });
        new cdk.CfnOutput(this, 'TokenIssuer', {
            value: `${publicUrl}/realms/${REALM}`,
            description: 'iss of the tokens the gateway accepts',
        });
        new cdk.CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
        new cdk.CfnOutput(this, 'CloudMapNamespace', { value: NAMESPACE });
    }

    /** A {username, password} secret: generated here on AWS; on an
     *  emulator created beforehand (deploy.sh) and passed as a parameter,
     *  because emulators lack CloudFormation support for secrets. */
    private credentials(id: string, name: string, what: string,
                        username: string): secretsmanager.ISecret {
        if (this.emulator) {
            const arn = new cdk.CfnParameter(this, `${id}Arn`, {
                type: 'String',
                description: `ARN of a Secrets Manager secret {"username","password"}: ${what}`,
            });
            // What deploy.sh must create before the stack, per parameter.
            this.emulatorSecrets[arn.logicalId] = {
                name: `pms/${name}`,
                username,
            };
            return secretsmanager.Secret.fromSecretCompleteArn(this, id, arn.valueAsString);
        }
        return new secretsmanager.Secret(this, id, {
            description: `pms: ${what}`,
            generateSecretString: {
                secretStringTemplate: JSON.stringify({ username }),
                generateStringKey: 'password',
                excludePunctuation: true,
                passwordLength: 32,
            },
        });
    }

    private database(name: DatabaseName, secret: secretsmanager.ISecret): rds.DatabaseInstance {
        return new rds.DatabaseInstance(this, `${titleCase(name)}Db`, {
            instanceIdentifier: `pms-${name}`,
            engine: rds.DatabaseInstanceEngine.postgres({
                version: rds.PostgresEngineVersion.VER_15,
            }),
            instanceType: ec2.InstanceType.of(
                ec2.InstanceClass.BURSTABLE4_GRAVITON, ec2.InstanceSize.MICRO),
            vpc: this.vpc,
            vpcSubnets: { subnetGroupName: DATA_SUBNETS },
            databaseName: name,
            port: POSTGRES_PORT,
            credentials: rds.Credentials.fromSecret(secret),
            allocatedStorage: 20,
            maxAllocatedStorage: 100,
            storageType: rds.StorageType.GP3,
            storageEncrypted: true,
            multiAz: false,
            publiclyAccessible: false,
            autoMinorVersionUpgrade: true,
            backupRetention: cdk.Duration.days(7),
            deletionProtection: !this.emulator,
            removalPolicy: this.emulator
                ? cdk.RemovalPolicy.DESTROY
                : cdk.RemovalPolicy.SNAPSHOT,
        });
    }

    /** MSK over TLS; returns the bootstrap servers string.  On AWS a
     *  custom resource asks MSK for it (CloudFormation has no attribute);
     *  an emulator template cannot carry that Lambda, so it takes the
     *  context value. */
    private kafka(sg: ec2.SecurityGroup): string {
        const subnets = this.vpc.selectSubnets({ subnetGroupName: DATA_SUBNETS });
        const cluster = new msk.CfnCluster(this, 'Kafka', {
            clusterName: 'pms-kafka',
            kafkaVersion: '3.7.x',
            numberOfBrokerNodes: 2,
            brokerNodeGroupInfo: {
                instanceType: 'kafka.t3.small',
                clientSubnets: subnets.subnetIds,
                securityGroups: [sg.securityGroupId],
                storageInfo: { ebsStorageInfo: { volumeSize: 20 } },
            },
            encryptionInfo: {
                encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
            },
            clientAuthentication: { unauthenticated: { enabled: true } },
        });
        if (this.emulator) {
            return this.settings.kafkaBrokers;
        }
        const lookup = new cr.AwsCustomResource(this, 'KafkaBootstrapBrokers', {
            onUpdate: {
                service: 'Kafka',
                action: 'GetBootstrapBrokers',
                parameters: { ClusterArn: cluster.attrArn },
                physicalResourceId: cr.PhysicalResourceId.of(cluster.attrArn),
                outputPaths: ['BootstrapBrokerStringTls'],
            },
            policy: cr.AwsCustomResourcePolicy.fromSdkCalls({
                resources: [cluster.attrArn],
            }),
            installLatestAwsSdk: false,
        });
        return lookup.getResponseField('BootstrapBrokerStringTls');
    }

    /** Plain (non-secret) environment of a service's container. */
    private containerEnvironment(spec: ServiceSpec, publicUrl: string,
                                 kafkaBrokers: string): Record<string, string> {
        const host = (s: ServiceName): string => `${s}.${NAMESPACE}`;
        const env: Record<string, string> = {};
        if (spec.database !== undefined) {
            const db = this.databaseOf(spec.database).instance;
            Object.assign(env, {
                PGHOST: db.dbInstanceEndpointAddress,
                PGPORT: String(POSTGRES_PORT),
                PGDATABASE: spec.database,
                PGSSLMODE: 'require',
            });
        }
        if (spec.kafka) {
            Object.assign(env, {
                PMS_KAFKA_BROKERS: kafkaBrokers,
                PMS_KAFKA_SECURITY_PROTOCOL: this.emulator ? 'plaintext' : 'ssl',
                PMS_KAFKA_TOPIC: 'patient',
            });
        }
        switch (spec.name) {
        case 'gateway':
            Object.assign(env, {
                PMS_HTTP_ADDR: '0.0.0.0',
                PMS_HTTP_PORT: String(spec.port),
                PMS_NGINX_WORKERS: 'auto',
                // The VPC's resolver, so nginx can re-resolve Cloud Map
                // names when tasks move.
                PMS_PATIENT_HOST: host('patient'),
                PMS_PATIENT_PORT: String(serviceSpec('patient').port),
                PMS_ANALYTICS_HOST: host('analytics'),
                PMS_ANALYTICS_PORT: String(serviceSpec('analytics').port),
                PMS_AUTH_PORT: String(AUTH_HELPER_PORT),
                // Tokens carry the public issuer; the keys are fetched
                // inside the VPC.
                PMS_OIDC_ISSUER: `${publicUrl}/realms/${REALM}`,
                PMS_OIDC_JWKS_URL: `http://${host('keycloak')}:${serviceSpec('keycloak').port}`
                    + `/realms/${REALM}/protocol/openid-connect/certs`,
                PMS_OIDC_AUDIENCE: OIDC_AUDIENCE,
                PMS_OIDC_CLIENTS: OIDC_CLIENTS.join(','),
            });
            break;
        case 'patient':
            Object.assign(env, {
                PMS_PATIENT_PORT: String(spec.port),
                PMS_PATIENT_WORKERS: '4',
                PMS_PATIENT_DB: `dbname=${spec.database}`,
                // pms-relay shares the task: it reads the same database
                // under its own name (it used to fall back to its default)
                PMS_RELAY_DB: `dbname=${spec.database}`,
                PMS_BILLING_TARGET: `${host('billing')}:${serviceSpec('billing').port}`,
            });
            break;
        case 'billing':
            Object.assign(env, {
                PMS_BILLING_LISTEN: `0.0.0.0:${spec.port}`,
                PMS_BILLING_DB: `dbname=${spec.database}`,
            });
            break;
        case 'analytics':
            Object.assign(env, {
                PMS_ANALYTICS_ADDR: '0.0.0.0',
                PMS_ANALYTICS_PORT: String(spec.port),
                PMS_ANALYTICS_DB: `dbname=${spec.database}`,
                PMS_KAFKA_GROUP: 'analytics-service',
            });
            break;
        case 'keycloak': {
            const db = this.databaseOf('keycloak').instance;
            Object.assign(env, {
                KC_DB: 'postgres',
                KC_DB_URL: `jdbc:postgresql://${db.dbInstanceEndpointAddress}:`
                    + `${POSTGRES_PORT}/keycloak?sslmode=require`,
                KC_HOSTNAME: publicUrl,
                KC_HOSTNAME_BACKCHANNEL_DYNAMIC: 'true',
                KC_HTTP_ENABLED: 'true',
                KC_HTTP_PORT: String(spec.port),
                KC_PROXY_HEADERS: 'xforwarded',
                KC_HEALTH_ENABLED: 'true',
            });
            // Keycloak reads KC_* only; the libpq variables mean nothing to it.
            for (const k of ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGSSLMODE']) {
                delete env[k];
            }
            break;
        }
        }
        return env;
    }

    /** Credentials, always as ECS secrets (resolved by the ECS agent from
     *  Secrets Manager at task start, never written into the template). */
    private secrets(spec: ServiceSpec, keycloak: KeycloakSecrets): Record<string, ecs.Secret> {
        if (spec.database === undefined) {
            return {};
        }
        const dbSecret = this.databaseOf(spec.database).secret;
        const field = (s: secretsmanager.ISecret, f: string): ecs.Secret =>
            ecs.Secret.fromSecretsManager(s, f);
        if (spec.name === 'keycloak') {
            return {
                KC_DB_USERNAME: field(dbSecret, 'username'),
                KC_DB_PASSWORD: field(dbSecret, 'password'),
                KC_BOOTSTRAP_ADMIN_USERNAME: field(keycloak.admin, 'username'),
                KC_BOOTSTRAP_ADMIN_PASSWORD: field(keycloak.admin, 'password'),
                // Placeholders of the imported realm file.
                PMS_MS_API_SECRET: field(keycloak.msApi, 'password'),
                PMS_MS_READONLY_SECRET: field(keycloak.msReadonly, 'password'),
            };
        }
        return {
            PGUSER: field(dbSecret, 'username'),
            PGPASSWORD: field(dbSecret, 'password'),
        };
    }

    private service(spec: ServiceSpec, environment: Record<string, string>,
                    secrets: Record<string, ecs.Secret>): ecs.FargateService {
        const id = titleCase(spec.name);
        const logGroup = new logs.LogGroup(this, `${id}Logs`, {
            logGroupName: `/pms/${spec.name}`,
            retention: logs.RetentionDays.THREE_MONTHS,
            removalPolicy: this.emulator
                ? cdk.RemovalPolicy.DESTROY
                : cdk.RemovalPolicy.RETAIN,
        });
        const taskDefinition = new ecs.FargateTaskDefinition(this, `${id}Task`, {
            family: `pms-${spec.name}`,
            cpu: spec.cpu,
            memoryLimitMiB: spec.memoryMiB,
            runtimePlatform: {
                cpuArchitecture: ecs.CpuArchitecture.X86_64,
                operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
            },
        });
        const repository = ecr.Repository.fromRepositoryName(
            this, `${id}Repository`, `pms/${spec.name}`);
        taskDefinition.addContainer(spec.name, {
            image: ecs.ContainerImage.fromEcrRepository(repository, this.settings.imageTag),
            essential: true,
            environment,
            secrets,
            portMappings: [{ containerPort: spec.port, name: spec.name }],
            logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: spec.name }),
            healthCheck: {
                command: ['CMD-SHELL', spec.healthCheck],
                interval: cdk.Duration.seconds(30),
                timeout: cdk.Duration.seconds(5),
                retries: 3,
                startPeriod: cdk.Duration.seconds(spec.startPeriodSeconds),
            },
            stopTimeout: cdk.Duration.seconds(30),
            ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: 65536, hardLimit: 65536 }],
            linuxParameters: new ecs.LinuxParameters(this, `${id}Linux`, {
                initProcessEnabled: true,
            }),
        });
        const securityGroup = new ec2.SecurityGroup(this, `${id}Sg`, {
            vpc: this.vpc,
            description: `pms ${spec.name} tasks`,
        });
        const routed = PUBLIC_ROUTES.some((r) => r.to === spec.name);
        return new ecs.FargateService(this, `${id}Service`, {
            cluster: this.cluster,
            serviceName: `pms-${spec.name}`,
            taskDefinition,
            desiredCount: spec.desiredCount,
            securityGroups: [securityGroup],
            vpcSubnets: { subnetGroupName: APP_SUBNETS },
            assignPublicIp: false,
            minHealthyPercent: 100,
            maxHealthyPercent: 200,
            circuitBreaker: { rollback: true },
            healthCheckGracePeriod: routed
                ? cdk.Duration.seconds(spec.startPeriodSeconds + 30)
                : undefined,
            cloudMapOptions: {
                name: spec.name,
                dnsRecordType: servicediscovery.DnsRecordType.A,
                dnsTtl: cdk.Duration.seconds(10),
            },
        });
    }

    /** The listener: the gateway by default, Keycloak's public paths by
     *  rule.  HTTPS when a certificate is given (port 80 redirects). */
    private routeLoadBalancer(): void {
        const listener = this.settings.certificateArn !== undefined
            ? this.loadBalancer.addListener('Https', {
                port: 443,
                open: true,
                certificates: [elbv2.ListenerCertificate.fromArn(this.settings.certificateArn)],
                sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
            })
            : this.loadBalancer.addListener('Http', { port: 80, open: true });
        if (this.settings.certificateArn !== undefined) {
            this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
        }
        PUBLIC_ROUTES.forEach((route, i) => {
            const spec = serviceSpec(route.to);
            listener.addTargets(titleCase(route.to), {
                port: spec.port,
                protocol: elbv2.ApplicationProtocol.HTTP,
                targets: [this.serviceOf(route.to).loadBalancerTarget({
                    containerName: route.to,
                    containerPort: spec.port,
                })],
                healthCheck: {
                    path: route.healthPath,
                    healthyHttpCodes: '200',
                    interval: cdk.Duration.seconds(15),
                    timeout: cdk.Duration.seconds(5),
                    healthyThresholdCount: 2,
                    unhealthyThresholdCount: 3,
                },
                deregistrationDelay: cdk.Duration.seconds(30),
                ...(route.paths.length > 0
                    ? {
                        priority: 10 * (i + 1),
                        conditions: [elbv2.ListenerCondition.pathPatterns(route.paths)],
                    }
                    : {}),
            });
        });
    }

    /** Every ingress rule besides the load balancer's: service paths,
     *  each database from its owner only, Kafka from its clients only. */
    private allowPaths(kafkaSg: ec2.SecurityGroup): void {
        for (const p of SERVICE_PATHS) {
            this.serviceOf(p.to).connections.allowFrom(
                this.serviceOf(p.from), ec2.Port.tcp(serviceSpec(p.to).port), p.why);
        }
        for (const spec of DATABASES) {
            this.databaseOf(spec.name).instance.connections.allowFrom(
                this.serviceOf(spec.owner), ec2.Port.tcp(POSTGRES_PORT),
                `${spec.owner} to its ${spec.name} database`);
        }
        const kafka = new ec2.Connections({
            securityGroups: [kafkaSg],
            defaultPort: ec2.Port.tcp(KAFKA_TLS_PORT),
        });
        for (const spec of SERVICES.filter((s) => s.kafka)) {
            kafka.allowDefaultPortFrom(this.serviceOf(spec.name), `${spec.name} to Kafka (TLS)`);
        }
    }

    serviceOf(name: ServiceName): ecs.FargateService {
        const s = this.services.get(name);
        if (s === undefined) {
            throw new Error(`service ${name} is not built yet`);
        }
        return s;
    }

    databaseOf(name: DatabaseName): DatabaseWiring {
        const d = this.databases.get(name);
        if (d === undefined) {
            throw new Error(`database ${name} is not built yet`);
        }
        return d;
    }
}
