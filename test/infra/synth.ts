import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';

/**
 * Apps for the infra tests: bundling skipped (no esbuild runs, assets are placeholders) and the
 * cloud assembly written to a throwaway folder that `cleanup()` removes, so a test run leaves
 * nothing in /tmp (aws-cdk-lib otherwise leaves a `cdk.outXXXX` folder per synth).
 */
export function testApp(props: AppProps = {}): { app: App; outdir: string; cleanup(): void } {
  const outdir = mkdtempSync(join(tmpdir(), 'fleetflow-infra-test-'));
  const app = new App({
    ...props,
    outdir,
    context: { 'aws:cdk:bundling-stacks': [], ...props.context },
  });
  return { app, outdir, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}
