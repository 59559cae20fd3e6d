// stack.test.ts -- what the cloud layout must keep, checked on the
// synthesized templates of both targets: resource counts, Cloud Map
// registration, who may reach each database and service, credentials
// only as ECS secrets, the load balancer's health check, log groups and
// container health checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { DATABASES, NAMESPACE, SERVICES } from '../lib/services';
import {
    Json, TARGETS, ingressOf, resourcesOf, servicesByName, serviceSg, synth,
    target, templateFor, walk,
} from './helpers';

const SERVICE_NAMES = ['analytics', 'billing', 'gateway', 'keycloak', 'patient'];
const DB_NAMES = ['analytics', 'billing', 'keycloak', 'patients'];

/** The security group of a database instance (logical id). */
function dbSg(t: Json, dbName: string): string {
    const [[, db]] = resourcesOf(t, 'AWS::RDS::DBInstance')
        .filter(([, r]) => r.Properties.DBName === dbName);
    const groups = db.Properties.VPCSecurityGroups;
    assert.equal(groups.length, 1, `${dbName} has one security group`);
    return target(groups[0])!;
}

/** The security group of the load balancer (logical id). */
function albSg(t: Json): string {
    const [[, lb]] = resourcesOf(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    return target(lb.Properties.SecurityGroups[0])!;
}

for (const tgt of TARGETS) {
    describe(`target=${tgt}`, () => {
        const { template } = synth({ target: tgt });
        const t = templateFor(tgt);
        const services = servicesByName(t);
        const sgOf = (name: string): string => serviceSg(t, services.get(name)![0]);

        test('resource counts: 5 services, 4 databases, 5 log groups, one VPC/cluster/ALB/MSK', () => {
            template.resourceCountIs('AWS::EC2::VPC', 1);
            template.resourceCountIs('AWS::ECS::Cluster', 1);
            template.resourceCountIs('AWS::ECS::Service', 5);
            template.resourceCountIs('AWS::ECS::TaskDefinition', 5);
            template.resourceCountIs('AWS::RDS::DBInstance', 4);
            template.resourceCountIs('AWS::Logs::LogGroup', 5);
            template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
            template.resourceCountIs('AWS::MSK::Cluster', 1);
            template.resourceCountIs('AWS::ServiceDiscovery::PrivateDnsNamespace', 1);
            template.resourceCountIs('AWS::ServiceDiscovery::Service', 5);
            assert.deepEqual([...services.keys()].sort(), SERVICE_NAMES);
        });

        test('the VPC spans 2 AZs with public, app and data subnets', () => {
            const subnets = resourcesOf(t, 'AWS::EC2::Subnet');
            assert.equal(subnets.length, 6);
            const azs = new Set(subnets.map(([, s]) => JSON.stringify(s.Properties.AvailabilityZone)));
            assert.equal(azs.size, 2);
        });

        test(`every service is registered in Cloud Map ${NAMESPACE}`, () => {
            template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', {
                Name: NAMESPACE,
            });
            const [[nsId]] = resourcesOf(t, 'AWS::ServiceDiscovery::PrivateDnsNamespace');
            const discovery = new Map(resourcesOf(t, 'AWS::ServiceDiscovery::Service'));
            const registered: string[] = [];
            for (const [name, [, svc]] of services) {
                const regs = svc.Properties.ServiceRegistries;
                assert.equal(regs?.length, 1, `${name} has one registry`);
                // RegistryArn is GetAtt Arn (aws) or an ARN built from Ref (localstack).
                const refs = [...walk(regs[0].RegistryArn)]
                    .map(([, v]) => target(v))
                    .filter((x) => x !== undefined && !x.startsWith('AWS::'));
                assert.equal(refs.length, 1, `${name}: one reference in RegistryArn`);
                const sd = discovery.get(refs[0]!);
                assert.ok(sd, `${name}: RegistryArn points at a Cloud Map service`);
                assert.equal(target(sd.Properties.DnsConfig.NamespaceId), nsId);
                assert.equal(sd.Properties.Name, name);
                assert.equal(sd.Properties.DnsConfig.DnsRecords[0].Type, 'A');
                registered.push(name);
            }
            assert.deepEqual(registered.sort(), SERVICE_NAMES);
        });

        test('services run on Fargate in private subnets, without public IPs, with rollback', () => {
            const privateSubnets = new Set(resourcesOf(t, 'AWS::EC2::Subnet')
                .filter(([, s]) => s.Properties.MapPublicIpOnLaunch !== true)
                .map(([id]) => id));
            for (const [name, [, svc]] of services) {
                const p = svc.Properties;
                assert.equal(p.LaunchType, 'FARGATE', name);
                assert.equal(p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'DISABLED', name);
                for (const s of p.NetworkConfiguration.AwsvpcConfiguration.Subnets) {
                    assert.ok(privateSubnets.has(target(s)!), `${name} runs in a private subnet`);
                }
                assert.equal(p.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback, true, name);
                const spec = SERVICES.find((x) => x.name === name)!;
                assert.equal(p.DesiredCount, spec.desiredCount, name);
            }
        });

        test('databases: PostgreSQL 15 on db.t4g.micro, valid names, encrypted, private', () => {
            const dbs = resourcesOf(t, 'AWS::RDS::DBInstance');
            assert.deepEqual(dbs.map(([, d]) => d.Properties.DBName).sort(), DB_NAMES);
            for (const [, d] of dbs) {
                const p = d.Properties;
                // PostgreSQL identifiers: a letter, then letters, digits, underscores.
                assert.match(p.DBName, /^[a-z][a-z0-9_]{0,62}$/);
                assert.match(p.DBInstanceIdentifier, /^[a-z][a-z0-9-]{0,62}$/);
                assert.equal(p.Engine, 'postgres');
                assert.match(p.EngineVersion, /^15(\.|$)/);
                // Graviton t4g supports PostgreSQL 15; db.t2 (the original's) does not.
                assert.equal(p.DBInstanceClass, 'db.t4g.micro');
                assert.equal(p.StorageEncrypted, true);
                assert.equal(p.PubliclyAccessible, false);
                assert.equal(p.Port, '5432');
            }
        });

        test('each database is reachable from its owning service only', () => {
            for (const spec of DATABASES) {
                assert.deepEqual(ingressOf(t, dbSg(t, spec.name)), [`5432<-${sgOf(spec.owner)}`],
                    `database ${spec.name}`);
            }
        });

        test('only the gateway reaches the patient and analytics upstreams', () => {
            assert.deepEqual(ingressOf(t, sgOf('patient')), [`4000<-${sgOf('gateway')}`]);
            assert.deepEqual(ingressOf(t, sgOf('analytics')), [`4002<-${sgOf('gateway')}`]);
            assert.deepEqual(ingressOf(t, sgOf('billing')), [`9001<-${sgOf('patient')}`]);
            assert.deepEqual(ingressOf(t, sgOf('gateway')), [`4004<-${albSg(t)}`]);
            assert.deepEqual(ingressOf(t, sgOf('keycloak')),
                [`8080<-${albSg(t)}`, `8080<-${sgOf('gateway')}`].sort());
        });

        test('Kafka (MSK) is TLS-only and reachable from patient and analytics only', () => {
            const [[, kafka]] = resourcesOf(t, 'AWS::MSK::Cluster');
            const p = kafka.Properties;
            assert.equal(p.NumberOfBrokerNodes, 2);
            assert.equal(p.EncryptionInfo.EncryptionInTransit.ClientBroker, 'TLS');
            const sg = target(p.BrokerNodeGroupInfo.SecurityGroups[0])!;
            assert.deepEqual(ingressOf(t, sg),
                [`9094<-${sgOf('patient')}`, `9094<-${sgOf('analytics')}`].sort());
        });

        test('no plain-text credentials in any task definition', () => {
            for (const [id, td] of resourcesOf(t, 'AWS::ECS::TaskDefinition')) {
                for (const c of td.Properties.ContainerDefinitions) {
                    for (const e of c.Environment ?? []) {
                        assert.doesNotMatch(e.Name, /PASS|SECRET|TOKEN|CREDENTIAL/i,
                            `${id}: ${e.Name} must be an ECS secret`);
                        const text = JSON.stringify(e.Value);
                        assert.doesNotMatch(text, /secretsmanager|\{\{resolve:/,
                            `${id}: ${e.Name} resolves a secret into plain env`);
                    }
                    for (const s of c.Secrets ?? []) {
                        assert.match(JSON.stringify(s.ValueFrom), /password::|username::/,
                            `${id}: ${s.Name} comes from a Secrets Manager JSON key`);
                    }
                }
            }
        });

        test('database owners get their credentials as ECS secrets', () => {
            const want: Record<string, string[]> = {
                'pms-patient': ['PGPASSWORD', 'PGUSER'],
                'pms-billing': ['PGPASSWORD', 'PGUSER'],
                'pms-analytics': ['PGPASSWORD', 'PGUSER'],
                'pms-keycloak': ['KC_BOOTSTRAP_ADMIN_PASSWORD', 'KC_BOOTSTRAP_ADMIN_USERNAME',
                    'KC_DB_PASSWORD', 'KC_DB_USERNAME', 'PMS_MS_API_SECRET', 'PMS_MS_READONLY_SECRET'],
                'pms-gateway': [],
            };
            for (const [, td] of resourcesOf(t, 'AWS::ECS::TaskDefinition')) {
                const [c] = td.Properties.ContainerDefinitions;
                const names = (c.Secrets ?? []).map((s: Json) => s.Name).sort();
                assert.deepEqual(names, want[td.Properties.Family], td.Properties.Family);
            }
        });

        test('the ALB is internet-facing and checks the gateway on /health', () => {
            template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
                Scheme: 'internet-facing',
                Type: 'application',
            });
            const [[listenerId, listener]] = resourcesOf(t, 'AWS::ElasticLoadBalancingV2::Listener');
            assert.equal(listener.Properties.Port, 80);
            const defaultTg = target(listener.Properties.DefaultActions[0].TargetGroupArn)!;
            const tg = t.Resources[defaultTg].Properties;
            assert.equal(tg.Port, 4004);
            assert.equal(tg.TargetType, 'ip');
            assert.equal(tg.HealthCheckPath, '/health');
            assert.equal(tg.Matcher.HttpCode, '200');
            // The gateway service is the target of that group, on 4004.
            const [, gw] = services.get('gateway')!;
            assert.deepEqual(gw.Properties.LoadBalancers.map((l: Json) =>
                [target(l.TargetGroupArn), l.ContainerName, l.ContainerPort]),
            [[defaultTg, 'gateway', 4004]]);
            // Keycloak's public paths go by rule; the admin console is not routed.
            template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
                ListenerArn: { Ref: listenerId },
                Conditions: [{ Field: 'path-pattern',
                    PathPatternConfig: { Values: ['/realms/*', '/resources/*'] } }],
            });
        });

        test('one log group per service, and each container logs to its own', () => {
            const groups = new Map(resourcesOf(t, 'AWS::Logs::LogGroup')
                .map(([id, g]) => [id, g.Properties.LogGroupName]));
            assert.deepEqual([...groups.values()].sort(), SERVICE_NAMES.map((n) => `/pms/${n}`));
            for (const [, td] of resourcesOf(t, 'AWS::ECS::TaskDefinition')) {
                const [c] = td.Properties.ContainerDefinitions;
                assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
                const group = target(c.LogConfiguration.Options['awslogs-group'])!;
                assert.equal(groups.get(group), `/pms/${c.Name}`);
            }
        });

        test('every container has a health check and the port of its table row', () => {
            for (const [, td] of resourcesOf(t, 'AWS::ECS::TaskDefinition')) {
                const [c] = td.Properties.ContainerDefinitions;
                const spec = SERVICES.find((s) => s.name === c.Name)!;
                assert.deepEqual(c.HealthCheck.Command, ['CMD-SHELL', spec.healthCheck]);
                assert.ok(c.HealthCheck.StartPeriod >= 30, c.Name);
                assert.deepEqual(c.PortMappings.map((m: Json) => m.ContainerPort), [spec.port]);
                assert.equal(td.Properties.RequiresCompatibilities[0], 'FARGATE');
            }
        });

        test('images come from ECR repositories pms/<service>', () => {
            for (const [, td] of resourcesOf(t, 'AWS::ECS::TaskDefinition')) {
                const [c] = td.Properties.ContainerDefinitions;
                assert.match(JSON.stringify(c.Image), new RegExp(`/pms/${c.Name}:latest`));
            }
        });

        test('the gateway is configured for the Cloud Map names of its upstreams', () => {
            template.hasResourceProperties('AWS::ECS::TaskDefinition', {
                Family: 'pms-gateway',
                ContainerDefinitions: [Match.objectLike({
                    Environment: Match.arrayWith([
                        { Name: 'PMS_PATIENT_HOST', Value: `patient.${NAMESPACE}` },
                        { Name: 'PMS_ANALYTICS_HOST', Value: `analytics.${NAMESPACE}` },
                        { Name: 'PMS_OIDC_JWKS_URL', Value: `http://keycloak.${NAMESPACE}:8080`
                            + '/realms/patient-management/protocol/openid-connect/certs' },
                        { Name: 'PMS_OIDC_AUDIENCE', Value: 'patient-api' },
                        { Name: 'PMS_OIDC_CLIENTS', Value: 'ms-api,ms-readonly' },
                    ]),
                })],
            });
            template.hasResourceProperties('AWS::ECS::TaskDefinition', {
                Family: 'pms-patient',
                ContainerDefinitions: [Match.objectLike({
                    Environment: Match.arrayWith([
                        { Name: 'PMS_BILLING_TARGET', Value: `billing.${NAMESPACE}:9001` },
                    ]),
                })],
            });
        });
    });
}
