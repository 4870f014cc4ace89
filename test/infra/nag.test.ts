import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { HandlerFunction } from '../../infra/constructs/handler-function.ts';
import { FleetflowStack } from '../../infra/fleetflow-stack.ts';
import { testApp } from './synth.ts';

/**
 * cdk-nag AwsSolutions and Serverless packs on the real stack, exactly as infra/app.ts runs them:
 * no finding may be left unacknowledged, and every acknowledgement is specific and explained.
 */

interface Violation {
  ruleName: string;
  violatingResources?: Array<{ constructPath: string }>;
  violatingConstructs?: Array<{ constructPath: string }>;
}

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Synthesizes with both packs; returns the findings (empty when synth passed). */
function nag(build: (scope: Stack['node']['scope'] & object) => void): string[] {
  const { app, outdir, cleanup } = testApp();
  cleanups.push(cleanup);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  build(app);
  try {
    app.synth();
    return [];
  } catch (error) {
    const report = join(outdir, 'validation-report.json');
    if (!existsSync(report)) throw error;
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      pluginReports: Array<{ violations: Violation[] }>;
    };
    return json.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) =>
        (v.violatingResources ?? v.violatingConstructs ?? []).map(
          (r) => `${v.ruleName} at ${r.constructPath}`,
        ),
      ),
    );
  }
}

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag on the fleetflow stack', () => {
  let stack: FleetflowStack | undefined;

  it('has no unacknowledged AwsSolutions or Serverless finding', () => {
    const findings = nag((app) => {
      stack = new FleetflowStack(app, 'Fleetflow');
    });
    expect(findings, findings.join('\n')).toEqual([]);
  });

  it('acknowledges only specific findings, each at a construct below the stack, with a reason', () => {
    const acks = acknowledgements(stack!);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      // Below the stack: at the role, secret, route or function the finding concerns.
      expect(ack.path.split('/').length, ack.path).toBeGreaterThanOrEqual(3);
      // A wildcard finding is acknowledged per resource (IAM5[Resource::…]), never the whole rule.
      expect(ack.id, ack.path).not.toMatch(/^AwsSolutions-IAM[45]$/);
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(80);
    }
    // The accepted kinds, and nothing else (a new kind needs a reviewer and a line here).
    const kinds = [
      ...new Set(
        acks.map((a) =>
          a.id
            .replace(/\[Resource::<[A-Za-z0-9]+\.Arn>:\*\]$/, '[Resource::<fn.Arn>:*]')
            .replace(/\[Resource::arn:[^\]]*:execution:.*\}\*\]$/, '[Resource::<child executions>*]'),
        ),
      ),
    ].sort();
    expect(kinds).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-DDB3',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<child executions>*]',
      'AwsSolutions-IAM5[Resource::<fn.Arn>:*]',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
      'Serverless-LambdaDLQ',
      'Serverless-SQSRedrivePolicy',
    ]);
    // The SQS ones only on the dead-letter queues of asynchronously invoked functions.
    for (const a of acks.filter(
      (x) => x.id.startsWith('AwsSolutions-SQS') || x.id.startsWith('Serverless-SQS'),
    )) {
      expect(a.path).toMatch(/\/DeadLetters$/);
    }
    // APIG4 only on signed webhook routes (POST /webhooks/…) and on the snooze links (each request
    // carries its own signed token); every other route is IAM-authorized.
    const apig4 = acks.filter((a) => a.id === 'AwsSolutions-APIG4').map((a) => a.path);
    expect(apig4).toContain('Fleetflow/Webhooks/Api/POST--webhooks--provision');
    for (const path of apig4)
      expect(path).toMatch(
        /^Fleetflow\/Webhooks\/Api\/(POST--webhooks--[a-z-]+|(GET|POST)--snooze|POST--snooze--slack)$/,
      );
    // DDB3 (no point-in-time recovery) only on the table of sealed secrets, which must stay deleted.
    expect(acks.filter((a) => a.id === 'AwsSolutions-DDB3').map((a) => a.path)).toEqual([
      'Fleetflow/Data/Secrets',
    ]);
  });

  it('fails on a finding nobody acknowledged (the check is live)', () => {
    const findings = nag((app) => {
      const s = new Stack(app, 'Careless');
      new sfn.StateMachine(s, 'Machine', {
        definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(s, 'Noop')),
        logs: {
          destination: new logs.LogGroup(s, 'Logs', { retention: logs.RetentionDays.ONE_WEEK }),
          level: sfn.LogLevel.ERROR,
        },
        timeout: Duration.minutes(1),
      });
    });
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AwsSolutions-SF1 /),
        expect.stringMatching(/^AwsSolutions-SF2 /),
      ]),
    );
  });

  it('gives an asynchronously invoked function an encrypted dead-letter queue, with no finding left', () => {
    let fn: HandlerFunction | undefined;
    const findings = nag((app) => {
      const s = new Stack(app, 'Async');
      fn = new HandlerFunction(s, 'OnEvent', {
        entry: 'functions/handlers/job-record.ts',
        description: 'async test',
      });
    });
    expect(findings, findings.join('\n')).toEqual([]);
    expect(fn?.deadLetterQueue).toBeDefined();
    expect(
      acknowledgements(fn!)
        .map((a) => a.id)
        .sort(),
    ).toEqual(['AwsSolutions-IAM5[Resource::*]', 'AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']);
  });
});
