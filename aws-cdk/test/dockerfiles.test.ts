// dockerfiles.test.ts -- every image the stack names has its Dockerfile
// at docker/<service>.Dockerfile, and each keeps the shape the images
// need: a Debian bookworm stage running the project's autotools build, a
// slim runtime stage with the daemons only, a non-root user, the port
// the stack maps and the tools the stack's health check runs.  (No
// Docker engine runs here, so the files are read, not built.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVICES, ServiceName } from '../lib/services';
import { dockerfile, Stage } from './helpers';

/** Packages an apt-get install line of the stage installs. */
function aptPackages(stage: Stage): string[] {
    return stage.instructions
        .filter((l) => /apt-get install/.test(l))
        .flatMap((l) => l.replace(/.*apt-get install[^\n]*?--no-install-recommends/, '')
            .split('&&')[0].trim().split(/\s+/))
        .filter((p) => p !== '');
}

/** The daemons each C image carries (sbindir of the autotools build). */
const DAEMONS: Partial<Record<ServiceName, string[]>> = {
    gateway: ['pms-auth'],
    patient: ['pms-patient', 'pms-relay'],
    billing: ['pms-billing'],
    analytics: ['pms-analytics'],
};

/** Debian package providing each tool the health checks call. */
const TOOL_PACKAGES: Record<string, string> = { 'cgi-fcgi': 'libfcgi-bin', curl: 'curl' };

describe('Dockerfiles', () => {
    for (const spec of SERVICES) {
        const stages = dockerfile(spec.name);
        const runtime = stages[stages.length - 1];
        const user = runtime.instructions.filter((l) => /^USER\s/.test(l)).pop();

        test(`${spec.name}: runs as a non-root user and exposes ${spec.port}`, () => {
            assert.ok(user, 'the runtime stage sets USER');
            assert.doesNotMatch(user!, /^USER\s+(0|root)\b/);
            assert.ok(runtime.instructions.some((l) =>
                new RegExp(`^EXPOSE\\b.*\\b${spec.port}\\b`).test(l)), `EXPOSE ${spec.port}`);
        });

        if (spec.name === 'keycloak') {
            test('keycloak: built for PostgreSQL with health on, realm imported', () => {
                assert.ok(stages.every((s) => s.from.startsWith('quay.io/keycloak/keycloak:')));
                const all = stages.flatMap((s) => s.instructions).join('\n');
                assert.match(all, /KC_DB=postgres/);
                assert.match(all, /KC_HEALTH_ENABLED=true/);
                assert.match(all, /kc\.sh build/);
                assert.match(all, /COPY .*keycloak\/realm-patient-management\.json\.tmpl\s+\S*\/data\/import\//);
                assert.match(all, /CMD \["start", "--optimized", "--import-realm"\]/);
            });
            continue;
        }

        test(`${spec.name}: a bookworm stage runs the autotools build into /out`, () => {
            const build = stages.find((s) => /^debian:bookworm$/.test(s.from));
            assert.ok(build, 'FROM debian:bookworm AS build');
            const run = build!.instructions.join('\n');
            for (const step of ['autoreconf -fi', './configure --prefix=/usr --sysconfdir=/etc',
                'make', 'make install DESTDIR=/out']) {
                assert.ok(run.includes(step), `build runs ${step}`);
            }
        });

        test(`${spec.name}: a slim runtime stage with its daemons and no build tools`, () => {
            assert.equal(runtime.from, 'debian:bookworm-slim');
            const copies = runtime.instructions.filter((l) => /^COPY --from=/.test(l)).join('\n');
            const daemons = DAEMONS[spec.name];
            assert.ok(daemons, `the test knows the daemons of ${spec.name}`);
            for (const daemon of daemons!) {
                assert.match(copies, new RegExp(`/out/usr/sbin/${daemon}\\b`), daemon);
            }
            const pkgs = aptPackages(runtime);
            assert.ok(pkgs.length > 0, 'installs its runtime libraries');
            for (const p of pkgs) {
                assert.doesNotMatch(p, /-dev$|^build-essential$|^autoconf$|^automake$|compiler/, p);
            }
        });

        test(`${spec.name}: has every tool its ECS health check runs`, () => {
            const pkgs = aptPackages(runtime);
            for (const [tool, pkg] of Object.entries(TOOL_PACKAGES)) {
                if (new RegExp(`\\b${tool}\\b`).test(spec.healthCheck)) {
                    assert.ok(pkgs.includes(pkg), `${tool} needs ${pkg}`);
                }
            }
        });
    }

    test('the gateway renders the nginx templates with PMS_* variables only', () => {
        const runtime = dockerfile('gateway').pop()!;
        const script = runtime.heredocs.join('\n');
        assert.match(script, /envsubst "\$vars"/);
        assert.match(script, /s\/\^\\\(PMS_/);
        assert.match(script, /exec \/usr\/bin\/supervisord/);
    });
});
