"""checks.py -- the JSON reading behind localstack/test.sh's checks.

Usage: python3 checks.py COMMAND TEMPLATE [ARGS...]

Each command prints one line (or a few words) that test.sh compares with
what it expects.  With only the template, a command prints what the
template says (the expected value); with the emulator's answers (JSON
files the aws CLI wrote) it prints what the emulator has.
"""
import json
import re
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def resources(t, rtype):
    return {k: r for k, r in t["Resources"].items() if r["Type"] == rtype}


def words(items):
    return " ".join(sorted(items))


def tag(obj, key):
    for t in obj.get("Tags") or []:
        if t["Key"] == key:
            return t["Value"]
    return None


def placeholders(t, stack_resources):
    """Types of the template's resources LocalStack did not create
    (physical id "unknown", or none)."""
    physical = {r.get("LogicalResourceId"): r.get("PhysicalResourceId")
                for r in load(stack_resources)["StackResources"]}
    return words({r["Type"] for k, r in t["Resources"].items()
                  if physical.get(k) in (None, "", "unknown", "None")})


def physical(t, stack_resources, rtype):
    """Physical ids of one type, one a line."""
    return "\n".join(sorted(r["PhysicalResourceId"]
                            for r in load(stack_resources)["StackResources"]
                            if r.get("ResourceType") == rtype))


def subnets(t, subnets_json):
    """group:subnets:AZs per subnet group (the aws-cdk:subnet-name tag)."""
    groups = {}
    for s in load(subnets_json)["Subnets"]:
        groups.setdefault(tag(s, "aws-cdk:subnet-name"), []).append(s["AvailabilityZone"])
    return words(f"{g}:{len(azs)}:{len(set(azs))}" for g, azs in groups.items())


def table_group(rt):
    """The subnet group a route table belongs to: CDK names it like its
    subnet, Pms/Vpc/<group>Subnet<n> (LocalStack keeps the Name tag, moto
    only the aws:cloudformation:logical-id one, Vpc<group>Subnet<n>...)."""
    m = (re.search(r"/([a-z]+)Subnet\d+$", tag(rt, "Name") or "")
         or re.match(r"Vpc([a-z]+)Subnet\d+RouteTable", tag(rt, "aws:cloudformation:logical-id") or ""))
    return m.group(1) if m else None


def routes(t, routes_json, mode):
    """Per subnet route table, group:<its 0.0.0.0/0 route> ("none"
    without one), shown as its destination (mode exists) or its target."""
    out = []
    for rt in load(routes_json)["RouteTables"]:
        group = table_group(rt)
        if group is None:
            continue
        default = [r for r in rt.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        if not default:
            shown = "none"
        elif mode == "exists":
            shown = "0.0.0.0/0"
        else:
            r = default[0]
            shown = r.get("GatewayId") or r.get("NatGatewayId") or "no-target"
        out.append(f"{group}:{shown}")
    return words(out)


def associations(t, subnets_json, routes_json):
    """How many subnets are associated with the route table of their name."""
    name_of = {s["SubnetId"]: tag(s, "Name") for s in load(subnets_json)["Subnets"]}
    good = {a["SubnetId"] for rt in load(routes_json)["RouteTables"]
            for a in rt.get("Associations", [])
            if a.get("SubnetId") in name_of and name_of[a["SubnetId"]] == tag(rt, "Name")}
    return f"{len(good)} of {len(name_of)}"


def sg_descriptions(t, sgs_json=None):
    """Descriptions of the stack's security groups (not the VPC's default)."""
    if sgs_json is None:
        return words(r["Properties"]["GroupDescription"]
                     for r in resources(t, "AWS::EC2::SecurityGroup").values())
    return words(g["Description"] for g in load(sgs_json)["SecurityGroups"]
                 if g.get("GroupName") != "default")


def sg(t, sgs_json, what, desc):
    """The id of the group described DESC, or its ingress as port:source."""
    groups = [g for g in load(sgs_json)["SecurityGroups"] if g.get("Description") == desc]
    if len(groups) != 1:
        return f"{len(groups)} groups described {desc!r}"
    if what == "id":
        return groups[0]["GroupId"]
    perms = groups[0].get("IpPermissions", [])
    return words([f"{p.get('FromPort')}:{pair['GroupId']}"
                  for p in perms for pair in p.get("UserIdGroupPairs", [])]
                 + [f"{p.get('FromPort')}:{r['CidrIp']}"
                    for p in perms for r in p.get("IpRanges", [])])


def role_trust(t, roles_json):
    """N x principal over every role's trust policy."""
    principals = []
    for entry in load(roles_json):
        doc = entry["role"]["AssumeRolePolicyDocument"]
        if isinstance(doc, str):
            doc = json.loads(doc)
        for st in doc["Statement"]:
            p = st.get("Principal", {}).get("Service")
            principals += p if isinstance(p, list) else [p]
    counts = {p: principals.count(p) for p in set(principals)}
    return ", ".join(f"{n} x {p}" for p, n in sorted(counts.items()))


def role_access(t, roles_json, secrets_json, stack_resources):
    """service:secrets:log groups the role's inline policies grant, per
    execution role (the service is the role's logical id's first word)."""
    logical = {r.get("PhysicalResourceId"): r.get("LogicalResourceId")
               for r in load(stack_resources)["StackResources"]}
    name_of = {s["ARN"]: s["Name"] for s in load(secrets_json)}
    out = []
    for entry in load(roles_json):
        role = entry["role"]["RoleName"]
        lid = logical.get(role, role)
        m = re.match(r"([A-Z][a-z]+)Task(Execution|Task)Role", lid)
        if m is None or m.group(2) != "Execution":
            continue
        secrets, logs = set(), set()
        for p in entry["policies"]:
            doc = p["PolicyDocument"]
            if isinstance(doc, str):
                doc = json.loads(doc)
            for st in doc["Statement"]:
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                if any(a.startswith("secretsmanager:GetSecretValue") for a in acts):
                    secrets |= {name_of.get(r, r) for r in res}
                if "logs:PutLogEvents" in acts:
                    logs |= {re.sub(r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+).*$", r"\1", r)
                             for r in res}
        out.append(f"{m.group(1).lower()}:{','.join(sorted(secrets)) or '-'}:{','.join(sorted(logs))}")
    return words(out)


def emulator_secrets(t):
    meta = t.get("Metadata", {}).get("pms:emulatorSecrets")
    if meta is None:
        sys.exit("the template has no pms:emulatorSecrets metadata")
    return meta


def secret_names(t, secrets_json=None):
    if secrets_json is None:
        return "\n".join(sorted(s["name"] for s in emulator_secrets(t).values()))
    return "\n".join(sorted(s["Name"] for s in load(secrets_json)))


def secret_shapes(t):
    return words(f"{s['name']}:{s['username']}:32" for s in emulator_secrets(t).values())


def secret_values(t):
    """name:username:password length of get-secret-value answers on stdin;
    anything besides the two keys is shown."""
    text, out, i = sys.stdin.read(), [], 0
    dec = json.JSONDecoder()
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        v, i = dec.raw_decode(text, i)
        value = json.loads(v["SecretString"])
        extra = sorted(set(value) - {"username", "password"})
        pw = value.get("password", "")
        shape = len(pw) if re.fullmatch(r"[A-Za-z0-9_-]+", pw) else f"odd:{pw!r}"
        out.append(f"{v['Name']}:{value.get('username')}:{shape}"
                   + (f":extra={','.join(extra)}" if extra else ""))
    return words(out)


def secret_params(t, secrets_json=None, stacks_json=None):
    """Parameter=secret name, from the metadata or the stack's parameters."""
    if secrets_json is None:
        return words(f"{k}={s['name']}" for k, s in emulator_secrets(t).items())
    name_of = {s["ARN"]: s["Name"] for s in load(secrets_json)}
    params = json.loads(stacks_json)["Stacks"][0].get("Parameters", [])
    return words(f"{p['ParameterKey']}={name_of.get(p['ParameterValue'], p['ParameterValue'])}"
                 for p in params)


def task(t, svc, definition):
    """ok, or what is wrong with a task definition's container."""
    c = json.loads(definition)
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
    return "; ".join(problems) or "ok"


COMMANDS = {
    "placeholders": placeholders, "physical": physical, "subnets": subnets,
    "routes": routes, "associations": associations, "sg-descriptions": sg_descriptions, "sg": sg,
    "role-trust": role_trust, "role-access": role_access,
    "secret-names": secret_names, "secret-shapes": secret_shapes,
    "secret-values": secret_values, "secret-params": secret_params, "task": task,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: checks.py {{{'|'.join(COMMANDS)}}} TEMPLATE [ARGS...]")
    print(COMMANDS[sys.argv[1]](load(sys.argv[2]), *sys.argv[3:]))
