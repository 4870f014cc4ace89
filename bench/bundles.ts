import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { FleetflowStack } from '../infra/fleetflow-stack.ts';
import { type CfnTemplateJson, loadTemplate } from '../local/engine/index.ts';

/**
 * `npm run bench -- bundles [--runs N] [--keep]`
 *
 * Every Lambda of the stack as it is deployed: the app is synthesized WITH bundling (the same
 * NodejsFunction settings, the local esbuild), and each function's asset in the cloud assembly is
 * measured:
 *   - size of the bundle (index.mjs, minified; source map not counted): goal ≤ 250 KB;
 *   - cold init: the bundle imported in a fresh `node` process (the function's environment, with
 *     NODE_OPTIONS=--enable-source-maps as on Lambda), median of N runs: goal ≤ 60 ms. The AWS SDK
 *     v3 is left external, as on Lambda: here it resolves from node_modules, on Lambda from the
 *     runtime, so its load time counts in both.
 * Ratios are measured/bound (≤ 1 is good). For a function over a bound, the biggest inputs of
 * its bundle (from an esbuild metafile with the same options) say what pulls the weight in.
 * The assembly is written under .tmp/ (inside the repository, so `@aws-sdk/*` resolves) and
 * removed afterwards unless --keep.
 */

const BOUNDS = { sizeKB: 250, initMs: 60 };
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface FunctionFigures {
  function: string;
  entry: string;
  sizeKB: number;
  sizeRatio: number;
  initMs: number;
  initRatio: number;
  initRunsMs: number[];
  heaviest?: Array<{ input: string; kB: number }>;
  /** Of initMs: importing the external AWS SDK packages alone. */
  sdkMs: number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Time to import the bundle, measured inside a fresh node process (node's own start excluded). */
function importOnce(bundle: string, env: Record<string, string>): number {
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(bundle).href)});process.stdout.write(String(performance.now()-t));process.exit(0);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Number(out.trim());
}

/**
 * The AWS SDK packages a bundle leaves external (Lambda's runtime provides them), and the time to
 * import just those in a fresh process: the part of the init no bundling setting can change.
 */
function sdkImports(bundle: string): string[] {
  const text = readFileSync(bundle, 'utf8');
  return [...new Set([...text.matchAll(/from\s*"(@aws-sdk\/[a-z0-9-]+)"/g)].map((m) => m[1]!))].sort();
}

function importSdkOnce(modules: string[], env: Record<string, string>): number {
  if (modules.length === 0) return 0;
  const imports = modules.map((m) => `await import(${JSON.stringify(m)});`).join('');
  const script = `const t=performance.now();${imports}process.stdout.write(String(performance.now()-t));process.exit(0);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Number(out.trim());
}

/** Input → bytes in the output, grouped by npm package (or by file for the repository's own code). */
async function heaviestInputs(entry: string): Promise<Array<{ input: string; kB: number }>> {
  // The options HandlerFunction gives NodejsFunction (infra/constructs/handler-function.ts).
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    write: false,
    outfile: 'index.mjs',
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const byGroup = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
    const group = pkg ? `npm:${pkg}` : input;
    byGroup.set(group, (byGroup.get(group) ?? 0) + bytesInOutput);
  }
  return [...byGroup]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([input, bytes]) => ({ input, kB: round(bytes / 1024) }));
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { runs: { type: 'string', default: '7' }, keep: { type: 'boolean', default: false } },
  });
  const runs = Math.max(1, Number(values.runs));
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const outdir = mkdtempSync(join(ROOT, '.tmp', 'bench-bundles-'));
  try {
    console.log(`synthesizing with bundling into ${relative(ROOT, outdir)} …`);
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    new FleetflowStack(app, 'Fleetflow');
    const assembly = app.synth();
    const stack = assembly.getStackByName('Fleetflow');
    const template = stack.template as CfnTemplateJson;
    const local = loadTemplate(template, 'Fleetflow');

    const results: FunctionFigures[] = [];
    for (const [logicalId, res] of Object.entries(template.Resources ?? {})) {
      if (res.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = res.Metadata?.['aws:asset:path'] as string | undefined;
      const info = local.functions[logicalId];
      if (!assetPath || !info) throw new Error(`${logicalId}: no asset path or entry in the template`);
      const bundle = join(outdir, assetPath, 'index.mjs');
      const env: Record<string, string> = {
        ...info.environment,
        ...Object.fromEntries(info.unresolvedEnvironment.map((k) => [k, 'unresolved'])),
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: logicalId,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(info.memorySize),
      };
      importOnce(bundle, env); // warm the file cache: a cold *process*, not a cold disk
      const initRunsMs = Array.from({ length: runs }, () => round(importOnce(bundle, env)));
      const sdk = sdkImports(bundle);
      const sdkMs = round(median(Array.from({ length: runs }, () => importSdkOnce(sdk, env))));
      const sizeKB = round(statSync(bundle).size / 1024);
      const initMs = round(median(initRunsMs));
      const figures: FunctionFigures = {
        function: logicalId,
        entry: info.entry ?? '?',
        sizeKB,
        sizeRatio: round(sizeKB / BOUNDS.sizeKB, 2),
        initMs,
        initRatio: round(initMs / BOUNDS.initMs, 2),
        initRunsMs,
        sdkMs,
      };
      if (info.entry && (figures.sizeRatio > 1 || figures.initRatio > 1))
        figures.heaviest = await heaviestInputs(info.entry);
      results.push(figures);
      console.log(
        `${figures.entry.padEnd(44)} ${String(sizeKB).padStart(7)} KB (${figures.sizeRatio.toFixed(2)} of ${BOUNDS.sizeKB} KB)  init ${String(initMs).padStart(6)} ms (${figures.initRatio.toFixed(2)} of ${BOUNDS.initMs} ms; AWS SDK alone ${sdkMs} ms)${figures.sizeRatio > 1 || figures.initRatio > 1 ? '  OVER' : ''}`,
      );
      for (const h of figures.heaviest ?? []) console.log(`    ${String(h.kB).padStart(7)} KB  ${h.input}`);
    }
    // Sanity: the SDK really is external (a bundled SDK would show up as npm:@aws-sdk/* above).
    for (const r of results) {
      const text = readFileSync(
        join(outdir, String(template.Resources?.[r.function]?.Metadata?.['aws:asset:path']), 'index.mjs'),
        'utf8',
      );
      if (!/from\s*"@aws-sdk\//.test(text) && text.includes('@aws-sdk/'))
        console.warn(`!!! ${r.entry}: @aws-sdk may be bundled`);
    }
    const withinBounds = results.every((r) => r.sizeRatio <= 1 && r.initRatio <= 1);
    const load = loadavg().map((n) => round(n, 2));
    console.log(
      `${results.length} functions, ${runs} imports each; load average ${load.join(' ')} on ${availableParallelism()} cores`,
    );
    console.log(
      JSON.stringify({ bench: 'bundles', bounds: BOUNDS, runs, results, withinBounds, loadAverage: load }),
    );
  } finally {
    if (!values.keep) rmSync(outdir, { recursive: true, force: true });
  }
}
