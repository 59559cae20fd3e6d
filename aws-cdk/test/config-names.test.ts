// config-names.test.ts -- every PMS_* variable a task hands its container
// (the stack's Environment and Secrets, the Dockerfile's ENV) is read by
// something in that image: one of its daemons (the names the real,
// built binary lists in --help) or the image's own start-up (supervisord's
// %(ENV_...)s, the start script, the nginx templates it renders).  Each
// daemon, started the way its image starts it, with the task's whole
// environment, passes --check-env: no name it does not read reaches it.
// Needs the daemons built by ./pms (PMS_PREFIX); run alone, it skips.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SERVICES, ServiceName } from '../lib/services';
import { DOCKER_DIR, dockerfile, Json, servicesByName, target, templateFor } from './helpers';

const SBIN = process.env.PMS_PREFIX ? join(process.env.PMS_PREFIX, 'sbin') : '';
const SKIP = SBIN === '' ? 'PMS_PREFIX is not set (run through ./pms test)' : false;
const REPO = join(__dirname, '..', '..');
const NGINX_DIR = join(REPO, 'nginx');

/** The PMS_* names and values the container of a service receives:
 *  Dockerfile ENV first, the task's Environment over it; secrets and
 *  values CloudFormation resolves at deploy time get a placeholder. */
function containerEnv(t: Json, name: ServiceName): Map<string, string> {
    const env = new Map<string, string>();
    const runtime = dockerfile(name).slice(-1)[0];
    for (const line of runtime.instructions.filter((l) => /^ENV\s/.test(l))) {
        for (const m of line.matchAll(/(PMS_\w+)=(\S*)/g)) {
            env.set(m[1], m[2]);
        }
    }
    const [, service] = servicesByName(t).get(name)!;
    const td = t.Resources[target(service.Properties.TaskDefinition)!];
    const [c] = td.Properties.ContainerDefinitions;
    for (const e of c.Environment ?? []) {
        env.set(e.Name, typeof e.Value === 'string' ? e.Value : 'deploy-time-value');
    }
    for (const s of c.Secrets ?? []) {
        env.set(s.Name, 'secret-value');
    }
    return new Map([...env].filter(([k]) => k.startsWith('PMS_')));
}

/** Names a daemon reads, from the built binary's --help. */
function namesRead(daemon: string): Set<string> {
    const r = spawnSync(join(SBIN, daemon), ['--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${daemon} --help: ${r.stderr}`);
    return new Set([...r.stdout.matchAll(/^ {2}(PMS_\w+)\s/gm)].map((m) => m[1]));
}

/** Text of the image's own start-up: every runtime instruction but ENV,
 *  the heredocs (supervisord.conf, start scripts), the templates it copies
 *  from the repository (Keycloak's realm file) and, when it renders them,
 *  the nginx templates. */
function startupText(name: ServiceName): string {
    const runtime = dockerfile(name).slice(-1)[0];
    let text = runtime.instructions.filter((l) => !/^ENV\s/.test(l)).join('\n')
        + runtime.heredocs.join('\n');
    for (const l of runtime.instructions.filter((l) => /^COPY\s+(?!--from)/.test(l))) {
        for (const m of l.matchAll(/\s(\S+\.tmpl)\b/g)) {
            text += readFileSync(join(REPO, m[1]), 'utf8');
        }
    }
    if (/conf\.tmpl/.test(text)) {
        for (const f of readdirSync(NGINX_DIR).filter((f) => f.endsWith('.conf.tmpl'))) {
            text += readFileSync(join(NGINX_DIR, f), 'utf8');
        }
    }
    return text;
}

/** The daemons an image starts, each with how: through pms-exec or bare. */
function daemonsOf(name: ServiceName): Map<string, 'pms-exec' | 'bare'> {
    const text = startupText(name);
    const out = new Map<string, 'pms-exec' | 'bare'>();
    for (const m of text.matchAll(/(?:\/usr\/local\/bin\/pms-exec )?\/usr\/sbin\/(pms-[a-z]+)/g)) {
        if (!out.has(m[1]) || m[0].includes('pms-exec')) {
            out.set(m[1], m[0].includes('pms-exec') ? 'pms-exec' : 'bare');
        }
    }
    return out;
}

/** Names of env nothing in the image reads. */
function unread(name: ServiceName, env: Map<string, string>): string[] {
    const text = startupText(name);
    const read = new Set([...daemonsOf(name).keys()].flatMap((d) => [...namesRead(d)]));
    return [...env.keys()].filter((v) => !read.has(v)
        && !new RegExp(`ENV_${v}\\b|\\$\\{?${v}\\b`).test(text)).sort();
}

/** Runs --check-env of a daemon the way the image starts it. */
function checkEnv(daemon: string, how: 'pms-exec' | 'bare', env: Map<string, string>) {
    const bin = join(SBIN, daemon);
    const argv = how === 'pms-exec' ? [join(DOCKER_DIR, 'pms-exec'), bin, bin] : [bin];
    return spawnSync(argv[0], [...argv.slice(1), '--check-env'], {
        encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(env) },
    });
}

describe('configuration names', { skip: SKIP }, () => {
    const t = templateFor('aws');
    for (const spec of SERVICES.filter((s) => s.name !== 'keycloak')) {
        test(`${spec.name}: every PMS_* name its container gets is read there`, () => {
            const env = containerEnv(t, spec.name);
            assert.ok(env.size > 0, 'the container gets PMS_* settings');
            assert.deepEqual(unread(spec.name, env), []);
        });

        test(`${spec.name}: each daemon, started as the image starts it, reads all it gets`, () => {
            const daemons = daemonsOf(spec.name);
            assert.ok(daemons.size > 0, 'the image starts a daemon of ours');
            for (const [daemon, how] of daemons) {
                const r = checkEnv(daemon, how, containerEnv(t, spec.name));
                assert.equal(r.status, 0, `${daemon} (${how}): ${r.stderr}`);
                assert.doesNotMatch(r.stderr, /does not read/, daemon);
            }
        });
    }

    test('keycloak: the PMS_* names of its container are the ones its start-up uses', () => {
        const env = containerEnv(t, 'keycloak');
        assert.deepEqual(unread('keycloak', env), []);
    });

    test('a misspelt name is found, and bare start-up of two daemons would warn', () => {
        const env = containerEnv(t, 'patient');
        env.set('PMS_PATIENT_WORKRS', '4');
        assert.deepEqual(unread('patient', env), ['PMS_PATIENT_WORKRS']);
        const r = checkEnv('pms-relay', 'bare', containerEnv(t, 'patient'));
        assert.equal(r.status, 1);
        assert.match(r.stderr, /PMS_PATIENT_WORKERS is set but pms-relay does not read it/);
        assert.ok(existsSync(join(SBIN, 'pms-relay')));
    });
});
