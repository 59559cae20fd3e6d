// targets.test.ts -- what differs between the two targets, and the
// context switches.  The localstack template must be deployable by an
// emulator: no bootstrap, no assets, secrets passed in, and no
// Fn::GetAtt on a resource type an emulator skips.  The aws template
// generates its secrets and keeps data on delete.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as cdk from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { EMULATOR_SKIPPED_TYPES } from '../lib/emulator';
import { DATABASES } from '../lib/services';
import { settingsFromContext } from '../lib/settings';
import { Json, resourcesOf, synth, target, templateFor, walk } from './helpers';

/** Route tables of a subnet group (logical ids, sorted). */
function routeTablesOf(t: Json, group: string): string[] {
    return resourcesOf(t, 'AWS::EC2::RouteTable')
        .map(([id]) => id).filter((id) => id.startsWith(`Vpc${group}Subnet`)).sort();
}

function publicRouteTables(t: Json): string[] {
    return routeTablesOf(t, 'public');
}

/** Route tables with a 0.0.0.0/0 route, and what it goes through
 *  (GatewayId, NatGatewayId, ...). */
function defaultRoutes(t: Json): Map<string, string> {
    const routes = new Map<string, string>();
    for (const [id, r] of resourcesOf(t, 'AWS::EC2::Route')) {
        const p = r.Properties;
        assert.equal(p.DestinationCidrBlock, '0.0.0.0/0', id);
        const via = Object.keys(p).filter((k) => k !== 'DestinationCidrBlock' && k !== 'RouteTableId');
        assert.equal(via.length, 1, `${id} has one target`);
        routes.set(target(p.RouteTableId)!, via[0]);
    }
    return routes;
}

describe('target=localstack', () => {
    const t = templateFor('localstack');

    test('needs no bootstrap: no BootstrapVersion parameter, no rules, no assets', () => {
        assert.equal(t.Parameters.BootstrapVersion, undefined);
        assert.equal(t.Rules, undefined);
        const { stack } = synth({ target: 'localstack' });
        assert.ok(stack.synthesizer instanceof cdk.BootstraplessSynthesizer);
        for (const [id, r] of Object.entries(t.Resources as Record<string, Json>)) {
            assert.doesNotMatch(r.Type, /^(AWS::Lambda::|Custom::|AWS::CloudFormation::CustomResource)/,
                `${id} would need an asset or a Lambda runtime`);
            assert.notEqual(r.Type, 'AWS::CDK::Metadata');
        }
    });

    test('takes the secrets as parameters and names them in its metadata', () => {
        const params = Object.keys(t.Parameters).sort();
        assert.deepEqual(params, [
            'AnalyticsDbCredentialsArn', 'BillingDbCredentialsArn', 'KeycloakAdminCredentialsArn',
            'KeycloakDbCredentialsArn', 'MsApiClientCredentialsArn', 'MsReadonlyClientCredentialsArn',
            'PatientsDbCredentialsArn',
        ]);
        const meta = t.Metadata['pms:emulatorSecrets'];
        assert.deepEqual(Object.keys(meta).sort(), params);
        for (const spec of DATABASES) {
            const key = `${spec.name[0].toUpperCase()}${spec.name.slice(1)}DbCredentialsArn`;
            assert.deepEqual(meta[key], { name: `pms/${spec.name}-db`, username: spec.username });
        }
        assert.equal(resourcesOf(t, 'AWS::SecretsManager::Secret').length, 0);
    });

    test('nothing an emulator models does Fn::GetAtt on a type it skips', () => {
        const skipped = new Set(Object.entries(t.Resources as Record<string, Json>)
            .filter(([, r]) => EMULATOR_SKIPPED_TYPES.includes(r.Type)).map(([id]) => id));
        assert.ok(skipped.size > 0, 'the template has skipped types (Cloud Map, MSK)');
        const modeled = Object.entries(t.Resources as Record<string, Json>)
            .filter(([id]) => !skipped.has(id));
        const holders: [string, unknown][] = [...modeled, ['Outputs', t.Outputs]];
        for (const [id, r] of holders) {
            for (const [path, v] of walk(r)) {
                const getAtt = v !== null && typeof v === 'object'
                    ? (v as Json)['Fn::GetAtt'] : undefined;
                if (Array.isArray(getAtt)) {
                    assert.ok(!skipped.has(getAtt[0]),
                        `${id}.${path.join('.')} does GetAtt on skipped ${getAtt[0]}`);
                }
                const ref = v !== null && typeof v === 'object' ? (v as Json).Ref : undefined;
                if (typeof ref === 'string' && skipped.has(ref)) {
                    // A Ref to a skipped resource resolves to a placeholder;
                    // only the Cloud Map registry ARN may use one.
                    assert.equal(path.slice(0, 2).join('.'), 'Properties.ServiceRegistries',
                        `${id}.${path.join('.')} refers to skipped ${ref}`);
                }
            }
        }
    });

    test('data is disposable: no deletion protection, Delete policies', () => {
        for (const [id, db] of resourcesOf(t, 'AWS::RDS::DBInstance')) {
            assert.equal(db.Properties.DeletionProtection, false, id);
            assert.equal(db.DeletionPolicy, 'Delete', id);
        }
        for (const [id, g] of resourcesOf(t, 'AWS::Logs::LogGroup')) {
            assert.equal(g.DeletionPolicy, 'Delete', id);
        }
    });

    test('no Elastic IP, no NAT gateway: only the public subnets have a default route (to the IGW)', () => {
        assert.equal(resourcesOf(t, 'AWS::EC2::EIP').length, 0);
        assert.equal(resourcesOf(t, 'AWS::EC2::NatGateway').length, 0);
        const routes = defaultRoutes(t);
        assert.deepEqual([...routes.keys()].sort(), publicRouteTables(t));
        for (const [rt, via] of routes) {
            assert.equal(via, 'GatewayId', `${rt} routes to the internet gateway`);
        }
    });

    test('Kafka brokers come from context (no custom resource to ask MSK)', () => {
        const { template } = synth({ target: 'localstack', kafkaBrokers: 'kafka.local:9092' });
        for (const family of ['pms-patient', 'pms-analytics']) {
            template.hasResourceProperties('AWS::ECS::TaskDefinition', {
                Family: family,
                ContainerDefinitions: [Match.objectLike({
                    Environment: Match.arrayWith([
                        { Name: 'PMS_KAFKA_BROKERS', Value: 'kafka.local:9092' },
                        { Name: 'PMS_KAFKA_SECURITY_PROTOCOL', Value: 'plaintext' },
                    ]),
                })],
            });
        }
    });
});

describe('target=aws', () => {
    const t = templateFor('aws');

    test('generates one secret per database, the Keycloak admin and each client', () => {
        const secrets = resourcesOf(t, 'AWS::SecretsManager::Secret');
        assert.equal(secrets.length, 7);
        for (const [id, s] of secrets) {
            const g = s.Properties.GenerateSecretString;
            assert.equal(g.GenerateStringKey, 'password', id);
            assert.ok(g.PasswordLength >= 32, id);
        }
        const usernames = secrets.map(([, s]) =>
            JSON.parse(s.Properties.GenerateSecretString.SecretStringTemplate).username).sort();
        assert.deepEqual(usernames,
            [...DATABASES.map((d) => d.username), 'admin', 'ms-api', 'ms-readonly'].sort());
        assert.equal(t.Parameters.BootstrapVersion?.Type, 'AWS::SSM::Parameter::Value<String>');
    });

    test('each database uses its own secret for the master user', () => {
        const secretIds = new Set(resourcesOf(t, 'AWS::SecretsManager::Secret').map(([id]) => id));
        const used = new Set<string>();
        for (const [id, db] of resourcesOf(t, 'AWS::RDS::DBInstance')) {
            const refs = [...walk(db.Properties.MasterUserPassword)]
                .map(([, v]) => target(v)).filter((x) => x !== undefined && secretIds.has(x));
            assert.equal(refs.length, 1, `${id} password from one secret`);
            used.add(refs[0]!);
        }
        assert.equal(used.size, 4);
    });

    test('data is kept: deletion protection, snapshot on delete, retained logs', () => {
        for (const [id, db] of resourcesOf(t, 'AWS::RDS::DBInstance')) {
            assert.equal(db.Properties.DeletionProtection, true, id);
            assert.equal(db.DeletionPolicy, 'Snapshot', id);
            assert.equal(db.Properties.BackupRetentionPeriod, 7, id);
        }
        for (const [id, g] of resourcesOf(t, 'AWS::Logs::LogGroup')) {
            assert.equal(g.DeletionPolicy, 'Retain', id);
        }
    });

    test('a NAT gateway (with its Elastic IP) per AZ; app subnets route through their own AZ\'s', () => {
        const nats = resourcesOf(t, 'AWS::EC2::NatGateway');
        assert.equal(nats.length, 2);
        assert.equal(resourcesOf(t, 'AWS::EC2::EIP').length, 2);
        const natSubnet = new Map(nats.map(([id, n]) => [id, target(n.Properties.SubnetId)!]));
        const routes = defaultRoutes(t);
        const publicRts = publicRouteTables(t);
        const appRts = routeTablesOf(t, 'app');
        assert.equal(appRts.length, 2);
        assert.deepEqual([...routes.keys()].sort(), [...publicRts, ...appRts].sort());
        for (const rt of publicRts) {
            assert.equal(routes.get(rt), 'GatewayId', `${rt} routes to the internet gateway`);
        }
        const used = new Set<string>();
        for (const rt of appRts) {
            const [[, route]] = resourcesOf(t, 'AWS::EC2::Route')
                .filter(([, r]) => target(r.Properties.RouteTableId) === rt);
            const nat = target(route.Properties.NatGatewayId)!;
            assert.ok(natSubnet.has(nat), `${rt} routes through a NAT gateway`);
            // the NAT sits in the public subnet of the same AZ (subnet1/subnet2)
            assert.equal(natSubnet.get(nat)!.replace(/^Vpcpublic(Subnet\d).*$/, '$1'),
                rt.replace(/^Vpcapp(Subnet\d).*$/, '$1'), `${rt} uses its own AZ's NAT`);
            used.add(nat);
        }
        assert.equal(used.size, 2);
        assert.deepEqual(routeTablesOf(t, 'data').filter((rt) => routes.has(rt)), []);
    });

    test('Kafka brokers come from MSK through a custom resource, over TLS', () => {
        const [[crId, cr]] = resourcesOf(t, 'Custom::AWS');
        assert.match(JSON.stringify(cr.Properties.Create ?? cr.Properties.Update),
            /GetBootstrapBrokers/);
        const { template } = synth({ target: 'aws' });
        template.hasResourceProperties('AWS::ECS::TaskDefinition', {
            Family: 'pms-patient',
            ContainerDefinitions: [Match.objectLike({
                Environment: Match.arrayWith([
                    { Name: 'PMS_KAFKA_BROKERS', Value: { 'Fn::GetAtt': [crId, 'BootstrapBrokerStringTls'] } },
                    { Name: 'PMS_KAFKA_SECURITY_PROTOCOL', Value: 'ssl' },
                ]),
            })],
        });
    });
});

describe('context switches', () => {
    const settings = (context: Record<string, string>) =>
        settingsFromContext(new cdk.App({ context }).node);

    test('defaults: aws, latest, no TLS', () => {
        const s = settings({});
        assert.equal(s.target, 'aws');
        assert.equal(s.imageTag, 'latest');
        assert.equal(s.certificateArn, undefined);
    });

    test('bad values are refused, naming the key', () => {
        assert.throws(() => settings({ target: 'gcp' }), /context target/);
        assert.throws(() => settings({ imageTag: 'a b' }), /context imageTag/);
        assert.throws(() => settings({ publicUrl: 'pms.example.org' }), /context publicUrl/);
        assert.throws(() => settings({ certificateArn: 'arn:aws:acm:x' }), /context certificateArn/);
        assert.throws(() => settings({ target: 'localstack', kafkaBrokers: 'nohost' }), /context kafkaBrokers/);
    });

    test('imageTag picks the image of every service', () => {
        const t = synth({ imageTag: 'v1.2.3' }).template.toJSON();
        for (const [, td] of resourcesOf(t, 'AWS::ECS::TaskDefinition')) {
            assert.match(JSON.stringify(td.Properties.ContainerDefinitions[0].Image), /:v1\.2\.3"/);
        }
    });

    test('certificateArn + publicUrl: HTTPS on 443, 80 redirects, Keycloak and issuer use the URL', () => {
        const { template } = synth({
            certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc',
            publicUrl: 'https://pms.example.org',
        });
        template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
            Port: 443,
            Protocol: 'HTTPS',
            Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc' }],
        });
        template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
            Port: 80,
            DefaultActions: [Match.objectLike({ Type: 'redirect' })],
        });
        template.hasResourceProperties('AWS::ECS::TaskDefinition', {
            Family: 'pms-keycloak',
            ContainerDefinitions: [Match.objectLike({
                Environment: Match.arrayWith([{ Name: 'KC_HOSTNAME', Value: 'https://pms.example.org' }]),
            })],
        });
        template.hasOutput('TokenIssuer', { Value: 'https://pms.example.org/realms/patient-management' });
        template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
            Port: 4004,
            HealthCheckPath: '/health',
        });
    });
});
