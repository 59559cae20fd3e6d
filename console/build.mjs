// build.mjs -- bundles the console with esbuild into OUT (argv[2]):
//   OUT/index.html            (references the hashed bundles; no inline script)
//   OUT/assets/app-HASH.js    OUT/assets/app-HASH.css
//   OUT/config.json           issuer and client id, from PMS_OIDC_ISSUER and
//                             PMS_CONSOLE_CLIENT (read by the app at start)
// Modules are resolved from NODE_MODULES (default ./node_modules), so
// ./pms can keep node_modules in its cache, outside the work tree.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUTDIR');
  process.exit(2);
}
const nodeModules = process.env.NODE_MODULES || join(here, 'node_modules');
const esbuild = createRequire(join(nodeModules, 'noop.js'))('esbuild');
const tmp = `${out}.tmp`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: [join(here, 'src/app.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  outdir: join(tmp, 'assets'),
  entryNames: '[name]-[hash]',
  nodePaths: [nodeModules],
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('%APP_JS%', `/assets/${js}`)
  .replace('%APP_CSS%', `/assets/${css}`);
writeFileSync(join(tmp, 'index.html'), html);
writeFileSync(join(tmp, 'config.json'), JSON.stringify({
  issuer: process.env.PMS_OIDC_ISSUER || 'http://127.0.0.1:8080/realms/patient-management',
  clientId: process.env.PMS_CONSOLE_CLIENT || 'pms-console',
  refreshSeconds: Number(process.env.PMS_CONSOLE_REFRESH || 30),
}, null, 2) + '\n');
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
console.log(`console built into ${out}: ${outputs.join(', ')}`);
