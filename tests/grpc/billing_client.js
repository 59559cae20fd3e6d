// billing_client.js -- an independent gRPC client (@grpc/grpc-js, pure
// JavaScript over Node's http2) for the billing contract tests.  It loads
// proto/*.proto at run time, makes the calls given as JSON lines on
// stdin ({"method": "...", "request": {...}, "timeoutMs": N}) and prints
// one JSON line per call: {"code", "codeName", "details", "response"}.
// Methods: CreateBillingAccount, Check, or any raw path ("/x/Y").
'use strict';

const path = require('path');
const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const target = process.argv[2];
const protoDir = process.argv[3];
const opts = { keepCase: true, longs: String, enums: String, defaults: true };
const billing = grpc.loadPackageDefinition(
  loader.loadSync(path.join(protoDir, 'billing_service.proto'), opts));
const health = grpc.loadPackageDefinition(
  loader.loadSync(path.join(protoDir, 'health.proto'), opts));
const billingClient = new billing.BillingService(target, grpc.credentials.createInsecure());
const healthClient = new health.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
const codeNames = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

function call(spec) {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + (spec.timeoutMs || 3000));
    const done = (err, response) => resolve({
      code: err ? err.code : 0,
      codeName: codeNames[err ? err.code : 0],
      details: err ? err.details : '',
      response: response || null,
    });
    if (!spec.method.startsWith('/') && typeof billingClient[spec.method] === 'function') {
      // a BillingService method of the .proto (CreateBillingAccount, ...)
      billingClient[spec.method](spec.request, { deadline }, done);
    } else if (spec.method === 'Check') {
      healthClient.Check(spec.request, { deadline }, done);
    } else {
      // an arbitrary method path with an empty message body
      billingClient.makeUnaryRequest(spec.method, (x) => x, (x) => x,
        Buffer.alloc(0), { deadline }, done);
    }
  });
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin });
  const specs = [];
  for await (const line of rl) {
    if (line.trim()) specs.push(JSON.parse(line));
  }
  const concurrent = process.env.PMS_GRPC_CONCURRENT === '1';
  const results = concurrent ? await Promise.all(specs.map(call))
                             : [];
  if (!concurrent) {
    for (const s of specs) results.push(await call(s));
  }
  for (const r of results) process.stdout.write(JSON.stringify(r) + '\n');
  billingClient.close();
  healthClient.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
