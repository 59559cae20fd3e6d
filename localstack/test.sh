#!/usr/bin/env bash
# test.sh -- the deploy script's integration test.  Starts an AWS
# emulator on loopback (moto_server from PyPI: LocalStack itself needs a
# license token and Docker since 2026.03, see README.md), deploys the
# localstack-target template with deploy.sh, checks with the aws CLI that
# the resources exist and are wired as the stack says, redeploys (the
# update path), deletes the stack and stops the emulator.
#
# Usage: localstack/test.sh [--template FILE]
#   --template FILE  template synthesized with -c target=localstack
#                    (default: deploy.sh synthesizes one)
# Environment:
#   PMS_CACHE        cache folder (default <repo>/.cache); the venv with
#                    moto and the aws CLI lives in $PMS_CACHE/localstack
#   PMS_MOTO_PORT    emulator port (default: a free port on 127.0.0.1)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache="${PMS_CACHE:-$repo/.cache}/localstack"
venv="$cache/venv"

say() { printf 'localstack-test: %s\n' "$*"; }
die() { printf 'localstack-test: error: %s\n' "$*" >&2; exit 1; }

template=""
while [ $# -gt 0 ]; do
    case "$1" in
        --template) [ $# -ge 2 ] || die "--template needs a file"
                    template=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done

# --- the emulator and the CLI, in a venv under the ignored cache -------
mkdir -p "$cache"
stamp=$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -c1-16)
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$stamp" ]; then
    say "installing moto and the aws CLI into $venv"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian splits ensurepip out of python3 into python3-venv.
        rm -rf "$venv"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            v=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$v-venv" >/dev/null \
                || die "cannot install python$v-venv"
            python3 -m venv "$venv" || die "python3 -m venv failed"
        else
            die "python3 -m venv failed: install python3-venv"
        fi
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check \
        -r "$here/requirements.txt" -c "$here/constraints.txt" \
        || die "pip install failed"
    echo "$stamp" > "$venv/.installed"
fi
export PATH="$venv/bin:$PATH"

# --- start it on loopback ----------------------------------------------
port="${PMS_MOTO_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
log="$cache/moto.log"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
stop_emulator() {
    if kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
}
trap stop_emulator EXIT

endpoint="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    kill -0 "$moto_pid" 2>/dev/null || { cat "$log" >&2; die "moto_server exited"; }
    python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "$endpoint/moto-api/" 2>/dev/null && break
    sleep 0.2
done
python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$endpoint/moto-api/" 2>/dev/null || die "moto_server did not answer on $endpoint"
say "moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)') on $endpoint (pid $moto_pid)"

export AWS_ENDPOINT_URL="$endpoint" AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_PAGER=""
awsx() { aws --endpoint-url "$endpoint" --output text "$@"; }

passed=0
failed=0
# check NAME EXPECTED ACTUAL: one named assertion.
check() {
    if [ "$2" = "$3" ]; then
        passed=$((passed + 1)); printf '  ok    %s\n' "$1"
    else
        failed=$((failed + 1))
        printf '  FAIL  %s\n        expected: %s\n        actual:   %s\n' "$1" "$2" "$3"
    fi
}
# Words of a text answer, sorted, on one line.
words() { tr -s ' \t\n' '\n' | sed '/^$/d; /^None$/d' | sort | tr '\n' ' ' | sed 's/ $//'; }

# --- deploy --------------------------------------------------------------
t0=$SECONDS
if [ -z "$template" ]; then
    dns=$("$here/deploy.sh" | tail -n 1) || die "deploy.sh failed"
    template="$repo/aws-cdk/cdk.out/localstack/Pms.template.json"
else
    dns=$("$here/deploy.sh" --template "$template" | tail -n 1) || die "deploy.sh failed"
fi
say "deployed in $((SECONDS - t0))s; load balancer DNS: $dns"

stack=pms
check "stack is CREATE_COMPLETE" CREATE_COMPLETE \
    "$(awsx cloudformation describe-stacks --stack-name $stack --query 'Stacks[0].StackStatus')"
check "deploy.sh printed an ELB DNS name" yes \
    "$(case "$dns" in *.elb.amazonaws.com) echo yes ;; *) echo "$dns" ;; esac)"

vpc=$(awsx ec2 describe-vpcs --filters Name=cidr,Values=10.40.0.0/16 --query 'Vpcs[].VpcId')
check "one VPC 10.40.0.0/16" 1 "$(echo "$vpc" | words | wc -w)"
check "6 subnets (public, app, data) in it" 6 \
    "$(awsx ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" --query 'length(Subnets)')"
check "subnets span 2 AZs" 2 \
    "$(awsx ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" --query 'Subnets[].AvailabilityZone' | words | tr ' ' '\n' | sort -u | wc -l)"
check "2 NAT gateways" 2 \
    "$(awsx ec2 describe-nat-gateways --filter "Name=vpc-id,Values=$vpc" --query 'length(NatGateways)')"

check "ECS cluster pms is ACTIVE" ACTIVE \
    "$(awsx ecs describe-clusters --clusters pms --query 'clusters[0].status')"
services=$(awsx ecs list-services --cluster pms --query 'serviceArns' | words)
check "5 ECS services" \
    "arn:aws:ecs:us-east-1:123456789012:service/pms/pms-analytics arn:aws:ecs:us-east-1:123456789012:service/pms/pms-billing arn:aws:ecs:us-east-1:123456789012:service/pms/pms-gateway arn:aws:ecs:us-east-1:123456789012:service/pms/pms-keycloak arn:aws:ecs:us-east-1:123456789012:service/pms/pms-patient" \
    "$services"

for svc in gateway patient billing analytics keycloak; do
    td=$(aws --endpoint-url "$endpoint" --output json ecs describe-task-definition \
            --task-definition "pms-$svc" --query 'taskDefinition.containerDefinitions[0]')
    check "task pms-$svc: awslogs to /pms/$svc, a health check, secrets only from Secrets Manager, no password in env" ok \
        "$(python3 - "$svc" "$td" <<'EOF'
import json, re, sys
svc, c = sys.argv[1], json.loads(sys.argv[2])
problems = []
log = c.get("logConfiguration", {})
if log.get("logDriver") != "awslogs" or log.get("options", {}).get("awslogs-group") != f"/pms/{svc}":
    problems.append(f"logging {log}")
if not c.get("healthCheck", {}).get("command"):
    problems.append("no health check")
for e in c.get("environment", []):
    if re.search(r"PASS|SECRET|TOKEN", e["name"]) or "secretsmanager" in e["value"]:
        problems.append(f"plain variable {e['name']}")
secrets = c.get("secrets", [])
if svc != "gateway" and not any(s["name"].endswith("PASSWORD") for s in secrets):
    problems.append("no password secret")
for s in secrets:
    if not s["valueFrom"].startswith("arn:aws:secretsmanager:"):
        problems.append(f"secret {s['name']} from {s['valueFrom']}")
print("; ".join(problems) or "ok")
EOF
)"
done

check "4 RDS PostgreSQL instances named by database" \
    "analytics:postgres:available billing:postgres:available keycloak:postgres:available patients:postgres:available" \
    "$(awsx rds describe-db-instances --query 'DBInstances[].join(`:`, [DBName, Engine, DBInstanceStatus])' | words)"

lb=$(awsx elbv2 describe-load-balancers --query 'LoadBalancers[0].LoadBalancerArn')
check "one internet-facing application load balancer" "application:internet-facing" \
    "$(awsx elbv2 describe-load-balancers --query 'LoadBalancers[].join(`:`, [Type, Scheme])' | words)"
check "its DNS name is the one deploy.sh printed" "$dns" \
    "$(awsx elbv2 describe-load-balancers --query 'LoadBalancers[0].DNSName')"
listener=$(awsx elbv2 describe-listeners --load-balancer-arn "$lb" --query 'Listeners[0].ListenerArn')
check "it listens on port 80" 80 \
    "$(awsx elbv2 describe-listeners --load-balancer-arn "$lb" --query 'Listeners[].Port' | words)"
check "a listener rule sends /realms/* and /resources/* to Keycloak" "/realms/* /resources/*" \
    "$(awsx elbv2 describe-rules --listener-arn "$listener" --query 'Rules[].Conditions[].PathPatternConfig.Values[]' | words)"
check "target groups: gateway 4004 checked on /health, keycloak 8080" \
    "4004:/health 8080:/realms/patient-management/.well-known/openid-configuration" \
    "$(awsx elbv2 describe-target-groups --query 'TargetGroups[].join(`:`, [to_string(Port), HealthCheckPath])' | words)"

check "a log group per service" "/pms/analytics /pms/billing /pms/gateway /pms/keycloak /pms/patient" \
    "$(awsx logs describe-log-groups --log-group-name-prefix /pms/ --query 'logGroups[].logGroupName' | words)"
check "the 7 pms/* secrets exist" 7 \
    "$(awsx secretsmanager list-secrets --query 'SecretList[].Name' | words | tr ' ' '\n' | grep -c '^pms/')"

# Security groups: who may reach whom, read back from the emulator.
sgs="$cache/security-groups.json"
aws --endpoint-url "$endpoint" --output json ec2 describe-security-groups \
    --filters "Name=vpc-id,Values=$vpc" >"$sgs"
# sg id DESCRIPTION | sg sources DESCRIPTION ("port:source" words)
sg() {
    python3 - "$sgs" "$@" <<'EOF'
import json, sys
groups = json.load(open(sys.argv[1]))["SecurityGroups"]
what, desc = sys.argv[2], sys.argv[3]
g = [x for x in groups if x.get("Description") == desc]
if len(g) != 1:
    print(f"{len(g)} groups described {desc!r}")
elif what == "id":
    print(g[0]["GroupId"])
else:
    perms = g[0].get("IpPermissions", [])
    print(" ".join(sorted(
        [f"{p.get('FromPort')}:{pair['GroupId']}"
         for p in perms for pair in p.get("UserIdGroupPairs", [])]
        + [f"{p.get('FromPort')}:{r['CidrIp']}"
           for p in perms for r in p.get("IpRanges", [])])))
EOF
}
declare -A task_sg
for svc in gateway patient billing analytics keycloak; do
    task_sg[$svc]=$(sg id "pms $svc tasks")
done
for pair in Patients:patient Billing:billing Analytics:analytics Keycloak:keycloak; do
    db=${pair%%:*} owner=${pair##*:}
    check "database ${db,,} reachable from $owner only" "5432:${task_sg[$owner]}" \
        "$(sg sources "Security group for ${db}Db database")"
done
check "patient reachable from the gateway only" "4000:${task_sg[gateway]}" "$(sg sources "pms patient tasks")"
check "analytics reachable from the gateway only" "4002:${task_sg[gateway]}" "$(sg sources "pms analytics tasks")"
check "billing reachable from patient only" "9001:${task_sg[patient]}" "$(sg sources "pms billing tasks")"
check "Kafka reachable from patient and analytics only" \
    "$(printf '%s\n' "9094:${task_sg[patient]}" "9094:${task_sg[analytics]}" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "$(sg sources "MSK brokers: TLS from the patient relay and analytics only")"
lb_sg=$(awsx elbv2 describe-load-balancers --query 'LoadBalancers[0].SecurityGroups[0]')
check "the gateway reachable from the load balancer only" "4004:$lb_sg" "$(sg sources "pms gateway tasks")"
check "keycloak reachable from the load balancer and the gateway only" \
    "$(printf '%s\n' "8080:$lb_sg" "8080:${task_sg[gateway]}" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "$(sg sources "pms keycloak tasks")"

# --- the update path ------------------------------------------------------
again=$("$here/deploy.sh" --template "$template" 2>/dev/null | tail -n 1) || again="deploy failed"
check "a second deploy (update path) succeeds and prints the same DNS name" "$dns" "$again"

# The stack is not deleted: moto deletes in the wrong order and fails
# with DependencyViolation on the VPC (README.md); stopping the emulator
# discards everything anyway.
stop_emulator
trap - EXIT
skipped=$(sed -n "s/.*Tried to parse \([A-Za-z0-9:]*\) but it's not supported.*/\1/p" "$log" | sort -u | tr '\n' ' ')
say "the emulator skipped these resource types: ${skipped:-none}"
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
