// settings.ts -- the CDK context switches of the pms app, read and
// validated in one place.  Every switch has a default so a plain
// `cdk synth` works; a bad value throws an error that names the key.
// Nothing here creates resources.
import { Node } from 'constructs';

/** Where the synthesized template is meant to be deployed. */
export type Target = 'aws' | 'localstack';

export interface PmsSettings {
    /** `aws` (default) or `localstack` (an emulator: no bootstrap, no
     *  assets, secrets created outside the stack). */
    readonly target: Target;
    /** Tag of the pms/<service> images in the account's ECR. */
    readonly imageTag: string;
    /** Public base URL of the system (Keycloak's hostname and the token
     *  issuer).  Default: http://<load balancer DNS name>. */
    readonly publicUrl?: string;
    /** ACM certificate for an HTTPS listener (needs publicUrl). */
    readonly certificateArn?: string;
    /** Kafka bootstrap servers for the localstack target, which has no
     *  custom resource to ask MSK for them. */
    readonly kafkaBrokers: string;
}

/** The switches, their defaults and what they mean (README lists them). */
export const CONTEXT_KEYS = {
    target: 'aws | localstack (default aws)',
    imageTag: 'image tag of pms/<service> in ECR (default latest)',
    publicUrl: 'public base URL, e.g. https://pms.example.org',
    certificateArn: 'ACM certificate ARN: adds HTTPS on 443',
    kafkaBrokers: 'localstack only: Kafka bootstrap servers',
} as const;

const DEFAULT_EMULATOR_BROKERS = 'localhost.localstack.cloud:4511';

function str(node: Node, key: keyof typeof CONTEXT_KEYS): string | undefined {
    const v = node.tryGetContext(key);
    if (v === undefined || v === null || v === '') {
        return undefined;
    }
    if (typeof v !== 'string') {
        throw new Error(`context ${key} must be a string, got ${typeof v}`);
    }
    return v;
}

/** Reads and validates the context; throws naming the bad key. */
export function settingsFromContext(node: Node): PmsSettings {
    const target = str(node, 'target') ?? 'aws';
    if (target !== 'aws' && target !== 'localstack') {
        throw new Error(
            `context target must be "aws" or "localstack", got "${target}"`);
    }
    const imageTag = str(node, 'imageTag') ?? 'latest';
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(imageTag)) {
        throw new Error(`context imageTag is not a valid image tag: "${imageTag}"`);
    }
    const publicUrl = str(node, 'publicUrl');
    if (publicUrl !== undefined && !/^https?:\/\/[^/\s]+$/.test(publicUrl)) {
        throw new Error(
            `context publicUrl must be scheme://host without a path, got "${publicUrl}"`);
    }
    const certificateArn = str(node, 'certificateArn');
    if (certificateArn !== undefined) {
        if (!certificateArn.startsWith('arn:')) {
            throw new Error(`context certificateArn is not an ARN: "${certificateArn}"`);
        }
        if (publicUrl === undefined || !publicUrl.startsWith('https://')) {
            throw new Error('context certificateArn needs publicUrl=https://<name on the certificate>');
        }
    }
    const kafkaBrokers = str(node, 'kafkaBrokers') ?? DEFAULT_EMULATOR_BROKERS;
    if (!/^[A-Za-z0-9.-]+:\d+(,[A-Za-z0-9.-]+:\d+)*$/.test(kafkaBrokers)) {
        throw new Error(`context kafkaBrokers must be host:port[,host:port...], got "${kafkaBrokers}"`);
    }
    return { target, imageTag, publicUrl, certificateArn, kafkaBrokers };
}
