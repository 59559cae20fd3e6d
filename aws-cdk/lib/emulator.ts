// emulator.ts -- template adjustments for target=localstack.  Emulators
// (moto, LocalStack Community) skip resource types they do not model,
// such as AWS::ServiceDiscovery::*; a Ref to a skipped resource still
// resolves (moto yields "None"), but a Fn::GetAtt on one fails the whole
// stack.  Only that rewrite lives here; what each emulator skips is in
// localstack/README.md.
import * as cdk from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';

/** Resource types an emulator may skip; nothing the emulator does model
 *  may Fn::GetAtt them.  The test suite checks the localstack template
 *  against this list. */
export const EMULATOR_SKIPPED_TYPES: readonly string[] = [
    'AWS::ServiceDiscovery::PrivateDnsNamespace',
    'AWS::ServiceDiscovery::Service',
    'AWS::MSK::Cluster',
    'AWS::SecretsManager::Secret',
    'AWS::SecretsManager::SecretTargetAttachment',
    'AWS::EC2::SecurityGroupEgress',
];

/** ECS service registries name their Cloud Map service by ARN, which CDK
 *  writes as Fn::GetAtt [Service, Arn].  Write the same ARN from the
 *  service's Ref (its id) instead: identical on AWS and LocalStack, and
 *  an emulator without Cloud Map can still create the ECS service. */
export function useEmulatorRegistryArns(stack: cdk.Stack,
                                        services: ecs.FargateService[]): void {
    for (const service of services) {
        const discovery = service.cloudMapService;
        if (discovery === undefined) {
            continue;
        }
        const cfnDiscovery = discovery.node.defaultChild as servicediscovery.CfnService;
        const cfnService = service.node.defaultChild as ecs.CfnService;
        cfnService.addPropertyOverride('ServiceRegistries.0.RegistryArn', stack.formatArn({
            service: 'servicediscovery',
            resource: 'service',
            resourceName: cfnDiscovery.ref,
        }));
    }
}
