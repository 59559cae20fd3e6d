#!/usr/bin/env bash
# deploy.sh -- deploy the pms stack, synthesized for target=localstack, to
# an AWS emulator (LocalStack, moto_server) and print the load balancer's
# DNS name as the last line of output.
#
# It creates what the template expects to exist beforehand (the Secrets
# Manager secrets named in its pms:emulatorSecrets metadata, and a bucket
# for the template, which is too large for --template-body), then creates
# the CloudFormation stack, or updates it when it exists ("no updates"
# counts as success), and waits.  Outputs the emulator left as
# placeholders (LocalStack: "unknown" where ELBv2 or ECS would answer) are
# named on stderr, and then no DNS name is printed.
#
# Usage: localstack/deploy.sh [--template FILE] [--stack NAME] [--delete]
#   --template FILE  a template synthesized with -c target=localstack
#                    (default: synthesize one with aws-cdk/ now)
#   --stack NAME     CloudFormation stack name (default: pms)
#   --delete         tear down instead: delete the stack and wait, then
#                    the secrets deploy.sh created for it
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
delete=no
while [ $# -gt 0 ]; do
    case "$1" in
        --template) [ $# -ge 2 ] || die "--template needs a file"; template=$2; shift 2 ;;
        --stack) [ $# -ge 2 ] || die "--stack needs a name"; stack=$2; shift 2 ;;
        --delete) delete=yes; shift ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
stack_status() {
    awsx cloudformation describe-stacks --stack-name "$1" \
        --query 'Stacks[0].StackStatus' --output text 2>/dev/null
}
# wait_stack ID WANT: polls until the stack reaches WANT; prints the
# failed resources and dies on any other final state.  A stack that no
# longer exists counts as DELETE_COMPLETE.
wait_stack() {
    local id=$1 want=$2 status deadline=$((SECONDS + timeout))
    while :; do
        status=$(stack_status "$id") || status=DELETE_COMPLETE
        case "$status" in
            "$want") break ;;
            *_IN_PROGRESS) ;;
            *)
                # shellcheck disable=SC2016 # JMESPath backquotes
                awsx cloudformation describe-stack-events --stack-name "$id" \
                    --query 'StackEvents[?contains(ResourceStatus, `FAILED`)].[LogicalResourceId,ResourceType,ResourceStatusReason]' \
                    --output text >&2 || true
                die "stack $stack ended in $status" ;;
        esac
        [ $SECONDS -lt $deadline ] || die "stack $stack still $status after ${timeout}s"
        sleep 1
    done
    say "stack $stack: $status"
}
existing=$(awsx secretsmanager list-secrets --query 'SecretList[].[Name,ARN,Description]' \
            --output text) || die "cannot list secrets at $AWS_ENDPOINT_URL"
# What deploy.sh writes into the description of a secret it creates.
created_by_me="pms ($stack): credentials for"

if [ "$delete" = yes ]; then
    if id=$(awsx cloudformation describe-stacks --stack-name "$stack" \
                --query 'Stacks[0].StackId' --output text 2>/dev/null); then
        awsx cloudformation delete-stack --stack-name "$stack" || die "delete-stack failed"
        say "stack $stack: delete"
        wait_stack "$id" DELETE_COMPLETE
    else
        say "stack $stack does not exist"
    fi
    # The stack does not own the secrets: remove those deploy.sh created.
    while read -r _ name _; do
        arn=$(awk -F'\t' -v n="$name" -v d="$created_by_me" \
                '$1 == n && index($3, d) == 1 { print $2 }' <<< "$existing")
        [ -n "$arn" ] || continue
        awsx secretsmanager delete-secret --secret-id "$arn" \
            --force-delete-without-recovery >/dev/null || die "cannot delete secret $name"
        say "deleted secret $name"
    done <<< "$secrets"
    exit 0
fi

params=()
while read -r param name user; do
    arn=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<< "$existing")
    if [ -z "$arn" ]; then
        password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
        arn=$(awsx secretsmanager create-secret --name "$name" \
                --description "$created_by_me $param" \
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

status=$(stack_status "$stack") || status=""
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
case "$action" in
    create) wait_stack "$stack" CREATE_COMPLETE ;;
    update) wait_stack "$stack" UPDATE_COMPLETE ;;
esac

# The outputs; an emulator that does not model a resource answers
# "unknown" for its attributes (LocalStack), so a value naming it is a
# placeholder, not a result.
outputs=$(awsx cloudformation describe-stacks --stack-name "$stack" \
            --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)
placeholders=""
dns=""
while IFS=$'\t' read -r k v; do
    [ -n "$k" ] || continue
    if [[ "$v" =~ (^|[^A-Za-z0-9])unknown([^A-Za-z0-9]|$) ]]; then
        placeholders+=" $k"
        say "output $k: placeholder ($v)"
    else
        say "output $k: $v"
        [ "$k" != LoadBalancerDns ] || dns=$v
    fi
done <<< "$outputs"
if [ -n "$placeholders" ]; then
    say "placeholder outputs (resources this emulator does not create):$placeholders"
fi
case "$placeholders " in
    *" LoadBalancerDns "*) say "no load balancer DNS name: the emulator has no load balancer"; exit 0 ;;
esac
[ -n "$dns" ] || die "no LoadBalancerDns output"
echo "$dns"
