#!/usr/bin/env bash
# deploy.sh -- deploy the pms stack, synthesized for target=localstack, to
# a LocalStack-compatible endpoint and print the load balancer's DNS name
# as the last line of output.
#
# It creates what the template expects to exist beforehand (the Secrets
# Manager secrets named in its pms:emulatorSecrets metadata, and a bucket
# for the template, which is too large for --template-body), then creates
# the CloudFormation stack, or updates it when it exists, and waits.
#
# Usage: localstack/deploy.sh [--template FILE] [--stack NAME]
#   --template FILE  a template synthesized with -c target=localstack
#                    (default: synthesize one with aws-cdk/ now)
#   --stack NAME     CloudFormation stack name (default: pms)
# Environment:
#   AWS_ENDPOINT_URL       endpoint (default http://localhost:4566)
#   AWS_DEFAULT_REGION     default us-east-1
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   default test / test
#   PMS_TEMPLATE_BUCKET    bucket for the template (default pms-templates)
#   PMS_DEPLOY_TIMEOUT     seconds to wait for the stack (default 600)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

say() { printf 'deploy: %s\n' "$*" >&2; }
die() { printf 'deploy: error: %s\n' "$*" >&2; exit 1; }

template=""
stack="pms"
while [ $# -gt 0 ]; do
    case "$1" in
        --template) [ $# -ge 2 ] || die "--template needs a file"; template=$2; shift 2 ;;
        --stack) [ $# -ge 2 ] || die "--stack needs a name"; stack=$2; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_PAGER=""
bucket="${PMS_TEMPLATE_BUCKET:-pms-templates}"
timeout="${PMS_DEPLOY_TIMEOUT:-600}"

command -v aws >/dev/null 2>&1 || die "the aws CLI is not on PATH (localstack/test.sh installs one into .cache/)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read the template"
awsx() { aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

if [ -z "$template" ]; then
    say "synthesizing the localstack target"
    out="$repo/aws-cdk/cdk.out/localstack"
    (
        cd "$repo/aws-cdk"
        [ -d node_modules ] || npm ci --no-audit --no-fund >&2
        CDK_DISABLE_CLI_TELEMETRY=true npx cdk synth -q --no-notices \
            -c target=localstack -o "$out" >&2
    )
    template="$out/Pms.template.json"
fi
[ -f "$template" ] || die "no template at $template"

# The template names the secrets it needs: "parameter name secret user" lines.
secrets=$(python3 - "$template" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
meta = t.get("Metadata", {}).get("pms:emulatorSecrets")
if meta is None:
    sys.exit("the template has no pms:emulatorSecrets metadata: "
             "was it synthesized with -c target=localstack?")
for param, s in sorted(meta.items()):
    print(param, s["name"], s["username"])
EOF
) || die "cannot read $template"

say "endpoint $AWS_ENDPOINT_URL, region $AWS_DEFAULT_REGION, stack $stack"
existing=$(awsx secretsmanager list-secrets --query 'SecretList[].[Name,ARN]' \
            --output text) || die "cannot list secrets at $AWS_ENDPOINT_URL"
params=()
while read -r param name user; do
    arn=$(awk -v n="$name" '$1 == n { print $2 }' <<< "$existing")
    if [ -z "$arn" ]; then
        password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
        arn=$(awsx secretsmanager create-secret --name "$name" \
                --description "pms ($stack): credentials for $param" \
                --secret-string "{\"username\":\"$user\",\"password\":\"$password\"}" \
                --query ARN --output text) || die "cannot create secret $name"
        say "created secret $name"
    else
        say "secret $name exists"
    fi
    params+=("ParameterKey=$param,ParameterValue=$arn")
done <<< "$secrets"

if ! awsx s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    awsx s3api create-bucket --bucket "$bucket" >/dev/null || die "cannot create bucket $bucket"
fi
key="$stack/$(date -u +%Y%m%dT%H%M%SZ).template.json"
awsx s3 cp --only-show-errors "$template" "s3://$bucket/$key" || die "cannot upload the template"
# The AWS form of an S3 URL: emulators map it onto their own S3.
url="https://$bucket.s3.amazonaws.com/$key"

status=$(awsx cloudformation describe-stacks --stack-name "$stack" \
            --query 'Stacks[0].StackStatus' --output text 2>/dev/null) || status=""
if [ -z "$status" ] || [ "$status" = "None" ]; then
    action=create
    awsx cloudformation create-stack --stack-name "$stack" --template-url "$url" \
        --parameters "${params[@]}" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \
        >/dev/null || die "create-stack failed"
else
    action=update
    if ! err=$(awsx cloudformation update-stack --stack-name "$stack" --template-url "$url" \
            --parameters "${params[@]}" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \
            2>&1 >/dev/null); then
        case "$err" in
            *"No updates are to be performed"*) action=none ;;
            *) die "update-stack failed: $err" ;;
        esac
    fi
fi
say "stack $stack: $action"

if [ "$action" != none ]; then
    want=$( [ "$action" = create ] && echo CREATE_COMPLETE || echo UPDATE_COMPLETE )
    deadline=$((SECONDS + timeout))
    while :; do
        status=$(awsx cloudformation describe-stacks --stack-name "$stack" \
                    --query 'Stacks[0].StackStatus' --output text)
        case "$status" in
            "$want") break ;;
            *_IN_PROGRESS) ;;
            *)
                awsx cloudformation describe-stack-events --stack-name "$stack" \
                    --query 'StackEvents[?contains(ResourceStatus, `FAILED`)].[LogicalResourceId,ResourceType,ResourceStatusReason]' \
                    --output text >&2 || true
                die "stack $stack ended in $status" ;;
        esac
        [ $SECONDS -lt $deadline ] || die "stack $stack still $status after ${timeout}s"
        sleep 2
    done
    say "stack $stack: $status"
fi

dns=$(awsx cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='LoadBalancerDns'].OutputValue" --output text)
if [ -z "$dns" ] || [ "$dns" = "None" ]; then
    dns=$(awsx elbv2 describe-load-balancers \
            --query 'LoadBalancers[0].DNSName' --output text)
fi
[ -n "$dns" ] && [ "$dns" != "None" ] || die "no load balancer DNS name"
echo "$dns"
