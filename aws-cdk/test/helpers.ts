// helpers.ts -- shared by the assertion tests: synthesize the stack for a
// target (once per distinct context) and small lookups over the template
// JSON.  Template validation is off here; `cdk synth` in run-tests.sh
// runs it on the real app.
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PmsStack } from '../lib/pms-stack';
import { settingsFromContext } from '../lib/settings';
import { ServiceName } from '../lib/services';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Json = Record<string, any>;

const cache = new Map<string, { stack: PmsStack; template: Template }>();

/** The stack and its template for a context (cached). */
export function synth(context: Record<string, string> = {}): { stack: PmsStack; template: Template } {
    const key = JSON.stringify(context);
    let hit = cache.get(key);
    if (hit === undefined) {
        const app = new cdk.App({ context, builtinCloudFormationValidation: false });
        const stack = new PmsStack(app, 'Pms', {
            stackName: 'pms',
            settings: settingsFromContext(app.node),
        });
        hit = { stack, template: Template.fromStack(stack) };
        cache.set(key, hit);
    }
    return hit;
}

export const TARGETS = ['aws', 'localstack'] as const;

export function templateFor(target: (typeof TARGETS)[number]): Json {
    return synth({ target }).template.toJSON();
}

/** Resources of a type: [logicalId, resource] pairs. */
export function resourcesOf(t: Json, type: string): [string, Json][] {
    return Object.entries(t.Resources as Record<string, Json>)
        .filter(([, r]) => r.Type === type);
}

/** The logical id a {Ref} or {Fn::GetAtt} points at, if it is one. */
export function target(v: unknown): string | undefined {
    if (v !== null && typeof v === 'object') {
        const o = v as Json;
        if (typeof o.Ref === 'string') {
            return o.Ref;
        }
        if (Array.isArray(o['Fn::GetAtt'])) {
            return o['Fn::GetAtt'][0];
        }
    }
    return undefined;
}

/** Every ingress rule on a security group (inline or a separate
 *  AWS::EC2::SecurityGroupIngress), as "port<-source" strings where
 *  source is a security group's logical id or a CIDR. */
export function ingressOf(t: Json, sgId: string): string[] {
    const rules: Json[] = [];
    const sg = t.Resources[sgId];
    if (sg === undefined || sg.Type !== 'AWS::EC2::SecurityGroup') {
        throw new Error(`${sgId} is not a security group`);
    }
    rules.push(...(sg.Properties.SecurityGroupIngress ?? []));
    for (const [, r] of resourcesOf(t, 'AWS::EC2::SecurityGroupIngress')) {
        if (target(r.Properties.GroupId) === sgId) {
            rules.push(r.Properties);
        }
    }
    return rules.map((r) => {
        const source = target(r.SourceSecurityGroupId) ?? r.CidrIp ?? r.CidrIpv6 ?? '?';
        const ports = r.FromPort === r.ToPort ? `${r.FromPort}` : `${r.FromPort}-${r.ToPort}`;
        return `${ports}<-${source}`;
    }).sort();
}

/** The logical id of the (single) security group of an ECS service. */
export function serviceSg(t: Json, serviceLogicalId: string): string {
    const groups = t.Resources[serviceLogicalId].Properties
        .NetworkConfiguration.AwsvpcConfiguration.SecurityGroups;
    if (groups.length !== 1) {
        throw new Error(`${serviceLogicalId} has ${groups.length} security groups`);
    }
    return target(groups[0])!;
}

/** ECS services by their ServiceName (pms-<name> -> <name>). */
export function servicesByName(t: Json): Map<string, [string, Json]> {
    const m = new Map<string, [string, Json]>();
    for (const [id, r] of resourcesOf(t, 'AWS::ECS::Service')) {
        m.set(String(r.Properties.ServiceName).replace(/^pms-/, ''), [id, r]);
    }
    return m;
}

/** All values nested anywhere inside v (objects and arrays walked). */
export function* walk(v: unknown, path: string[] = []): Generator<[string[], unknown]> {
    yield [path, v];
    if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
            yield* walk(v[i], [...path, String(i)]);
        }
    } else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v as Json)) {
            yield* walk(x, [...path, k]);
        }
    }
}

// ---- Dockerfiles (docker/<service>.Dockerfile)

export const DOCKER_DIR = join(__dirname, '..', '..', 'docker');

export interface Stage {
    from: string;
    /** Instructions with continuation lines joined; heredoc bodies apart. */
    instructions: string[];
    heredocs: string[];
}

/** Splits a Dockerfile into stages, joining `\` continuations and
 *  setting heredoc bodies (<<'EOF' ... EOF) aside. */
export function parse(text: string): Stage[] {
    const stages: Stage[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
        let line = lines[i];
        if (/^\s*(#|$)/.test(line)) {
            continue;
        }
        while (line.endsWith('\\') && i + 1 < lines.length) {
            line = line.slice(0, -1) + ' ' + lines[++i].trim();
        }
        const here = /<<-?'?([A-Z]+)'?/.exec(line);
        let body = '';
        if (here !== null) {
            while (i + 1 < lines.length && lines[i + 1] !== here[1]) {
                body += lines[++i] + '\n';
            }
            i++;
        }
        const from = /^FROM\s+(\S+)/.exec(line);
        if (from !== null) {
            stages.push({ from: from[1], instructions: [line], heredocs: [] });
            continue;
        }
        assert.ok(stages.length > 0 || /^ARG\s/.test(line), `instruction before FROM: ${line}`);
        if (stages.length > 0) {
            stages[stages.length - 1].instructions.push(line);
            if (here !== null) {
                stages[stages.length - 1].heredocs.push(body);
            }
        }
    }
    return stages;
}

export function dockerfile(name: ServiceName): Stage[] {
    return parse(readFileSync(join(DOCKER_DIR, `${name}.Dockerfile`), 'utf8'));
}
