#!/usr/bin/env bash
# run-tests.sh -- every check of the cloud layout, from a fresh clone:
#   1. npm ci (pinned by package-lock.json; skipped when node_modules
#      already matches the lock file)
#   2. typecheck (tsc --noEmit)
#   3. cdk synth, default target, and -c target=localstack; each must
#      leave an empty CloudFormation validation report
#   4. the assertion tests (node:test on the synthesized stacks)
#   5. localstack/test.sh: deploy the localstack template to LocalStack
#      and to moto_server, each on loopback, read each back with the aws
#      CLI, delete it on LocalStack
# Exits non-zero if any step fails; the last line is the summary.
# Caches: aws-cdk/node_modules, <repo>/.cache/npm, <repo>/.cache/localstack.
# Needs Node >= 20 with npm, and python3 >= 3.10 (for the emulator).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$here" || exit 1

export PMS_CACHE="${PMS_CACHE:-$repo/.cache}"
export npm_config_cache="$PMS_CACHE/npm"
export CDK_DISABLE_CLI_TELEMETRY=true
export NO_COLOR=1

logdir="$PMS_CACHE/aws-cdk-tests"
mkdir -p "$logdir"
t_start=$SECONDS
failed=()
results=()

say() { printf '\n== aws-cdk: %s\n' "$*"; }
# step NAME CMD...: runs a step, logs its output, records pass/fail.
step() {
    local name=$1 t0=$SECONDS rc
    shift
    say "$name"
    "$@" 2>&1 | tee "$logdir/$name.log"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then
        results+=("$name ok ($((SECONDS - t0))s)")
    else
        results+=("$name FAILED ($((SECONDS - t0))s)")
        failed+=("$name")
    fi
    return "$rc"
}
summary() {
    local status=PASS
    [ ${#failed[@]} -eq 0 ] || status=FAIL
    printf '\n'
    printf '  %s\n' "${results[@]}"
    printf 'aws-cdk tests: %s; %s; %s; %ss total%s\n' "$status" \
        "${unit_summary:-assertion tests not run}" "${ls_summary:-emulator checks not run}" \
        "$((SECONDS - t_start))" "${failed[*]:+ (failed: ${failed[*]})}"
    [ "$status" = PASS ]
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
    echo "aws-cdk: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
    failed+=(node); results+=("node FAILED"); summary; exit 1
fi

install_deps() {
    local stamp
    stamp=$(sha256sum package-lock.json | cut -c1-16)
    if [ -f node_modules/.pms-lock ] && [ "$(cat node_modules/.pms-lock)" = "$stamp" ]; then
        echo "node_modules matches package-lock.json"
        return 0
    fi
    npm ci --no-audit --no-fund && echo "$stamp" > node_modules/.pms-lock
}
step npm-ci install_deps || { summary; exit 1; }

step typecheck ./node_modules/.bin/tsc --noEmit

# synth TARGET: cdk synth into cdk.out/TARGET; the validation report
# (cfn-lint style rules run by aws-cdk-lib) must list no violation.
synth() {
    local target=$1 out="cdk.out/$1"
    rm -rf "$out"
    ./node_modules/.bin/cdk synth -q --no-notices -c "target=$target" -o "$out" || return 1
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e '
        const fs = require("fs");
        const [out] = process.argv.slice(1);
        const report = JSON.parse(fs.readFileSync(out + "/validation-report.json", "utf8"));
        const v = (report.pluginReports || []).flatMap((p) => p.violations || []);
        for (const x of v) console.error(`  ${x.severity} ${x.ruleName}: ${x.description}`);
        const t = JSON.parse(fs.readFileSync(out + "/Pms.template.json", "utf8"));
        const n = Object.keys(t.Resources).length;
        const bytes = fs.statSync(out + "/Pms.template.json").size;
        console.log(`${out}/Pms.template.json: ${n} resources, ${bytes} bytes, ${v.length} validation findings`);
        process.exit(v.length === 0 ? 0 : 1);
    ' "$out"
}
step synth-aws synth aws
step synth-localstack synth localstack
localstack_ok=$?

unit_tests() {
    node --import tsx --test --test-reporter=spec test/*.test.ts
}
step assertion-tests unit_tests
unit_summary=$(awk '/^ℹ (tests|pass|fail) /{ printf "%s%s %s", sep, $2, $3; sep=", " }' \
    "$logdir/assertion-tests.log")
unit_summary="assertion tests: ${unit_summary:-no result}"

if [ "$localstack_ok" -eq 0 ]; then
    step localstack bash "$repo/localstack/test.sh" --template "$here/cdk.out/localstack/Pms.template.json"
    ls_summary=$(sed -n 's/^localstack-test: \([0-9]* passed, [0-9]* failed (.*)\)$/\1/p' \
        "$logdir/localstack.log" | tail -n 1)
    ls_summary="emulator checks: ${ls_summary:-no result}"
else
    results+=("localstack skipped (no localstack template)")
    failed+=("localstack")
fi

summary
