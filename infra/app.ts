import { App } from 'aws-cdk-lib';
import { FleetflowStack } from './fleetflow-stack.ts';

// The CDK app: `npx cdk synth` / `npx cdk deploy` (see README "Deploy to AWS").
const app = new App();
new FleetflowStack(app, 'Fleetflow', { description: 'fleetflow: automation for compute fleets on non-AWS clouds' });
app.synth();
