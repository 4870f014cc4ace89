import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConfigError, findConfigFile, loadConfigFile } from '../functions/config/load.ts';
import type { FleetflowConfig } from '../functions/config/schema.ts';
import { FleetflowStack } from './fleetflow-stack.ts';

// The CDK app: `npx cdk synth` / `npx cdk deploy` (see docs/deploy.md).
const app = new App();
// cdk-nag's AwsSolutions and Serverless packs run on every synth; an unacknowledged
// finding fails it ("Validation failed", report in cdk.out/validation-report.json).
// Acknowledgements sit next to the construct they concern, each with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
// The same config file as `fleetflow start` (-c config=<file>, else ./fleetflow.config.yaml when
// present); a bad one fails the synth with the same one-line message.
const configFile = findConfigFile(app.node.tryGetContext('config') as string | undefined);
let config: FleetflowConfig | undefined;
try {
  config = configFile ? loadConfigFile(configFile) : undefined;
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`fleetflow: ${error.message}\n`);
  process.exit(1);
}
new FleetflowStack(app, 'Fleetflow', {
  description: 'fleetflow: automation for compute fleets on non-AWS clouds',
  ...(config && { config }),
});
app.synth();
