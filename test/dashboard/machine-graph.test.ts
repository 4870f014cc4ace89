import { describe, expect, it } from 'vitest';
import { choiceLabel, machineGraph } from '../../local/dashboard/routes.ts';
import type { HistoryEvent } from '../../local/engine/index.ts';

/** The graph the dashboard draws: states, labelled transitions, and what an execution history says ran. */

const definition = JSON.stringify({
  StartAt: 'Create',
  States: {
    Create: {
      Type: 'Task',
      Resource: 'arn:x',
      Next: 'Done?',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Undo' }],
    },
    'Done?': {
      Type: 'Choice',
      Choices: [
        { Variable: '$.wait.done', BooleanEquals: true, Next: 'Each' },
        {
          And: [
            { Variable: '$.n', NumericGreaterThan: 3 },
            { Variable: '$.x', IsPresent: true },
          ],
          Next: 'Undo',
        },
      ],
      Default: 'Wait',
    },
    Wait: { Type: 'Wait', Seconds: 5, Next: 'Create' },
    Each: {
      Type: 'Map',
      ItemProcessor: { StartAt: 'Act', States: { Act: { Type: 'Task', Resource: 'arn:y', End: true } } },
      Next: 'Finished',
    },
    Undo: { Type: 'Task', Resource: 'arn:z', Next: 'Failed' },
    Failed: { Type: 'Fail' },
    Finished: { Type: 'Succeed' },
  },
});

let id = 0;
const event = (type: string, details: Record<string, unknown> = {}): HistoryEvent => ({
  id: ++id,
  previousEventId: id - 1,
  timestamp: new Date(),
  type,
  ...details,
});
const entered = (type: string, name: string) =>
  event(`${type}StateEntered`, { stateEnteredEventDetails: { name } });
const exited = (type: string, name: string) =>
  event(`${type}StateExited`, { stateExitedEventDetails: { name } });

describe('machineGraph', () => {
  it('has every state, Map insides with their parent, and Choice rules as labels', () => {
    const g = machineGraph('m', definition);
    expect(g.nodes.map((n) => n.name).sort()).toEqual(
      ['Act', 'Create', 'Done?', 'Each', 'Failed', 'Finished', 'Undo', 'Wait'].sort(),
    );
    expect(g.nodes.find((n) => n.name === 'Act')).toMatchObject({ parent: 'Each', start: true });
    const edge = (from: string, to: string) => g.edges.find((e) => e.from === from && e.to === to);
    expect(edge('Done?', 'Each')).toMatchObject({ kind: 'choice', label: 'wait.done = true' });
    expect(edge('Done?', 'Undo')).toMatchObject({ kind: 'choice', label: 'n > 3 and x present' });
    expect(edge('Done?', 'Wait')).toMatchObject({ kind: 'default', label: 'default' });
    expect(edge('Create', 'Undo')).toMatchObject({ kind: 'catch', label: 'States.ALL' });
    expect(g.edges.every((e) => !e.taken)).toBe(true);
  });

  it('marks the transitions taken, the states visited and the one running now', () => {
    const history = [
      event('ExecutionStarted'),
      entered('Task', 'Create'),
      exited('Task', 'Create'),
      entered('Choice', 'Done?'),
      exited('Choice', 'Done?'),
      entered('Wait', 'Wait'),
      exited('Wait', 'Wait'),
      entered('Task', 'Create'),
      exited('Task', 'Create'),
      entered('Choice', 'Done?'),
      exited('Choice', 'Done?'),
      entered('Map', 'Each'),
      entered('Task', 'Act'),
    ];
    const g = machineGraph('m', definition, history);
    const taken = g.edges.filter((e) => e.taken).map((e) => `${e.from}→${e.to}`);
    expect(taken.sort()).toEqual(['Create→Done?', 'Done?→Each', 'Done?→Wait', 'Wait→Create'].sort());
    expect(
      g.nodes
        .filter((n) => n.current)
        .map((n) => n.name)
        .sort(),
    ).toEqual(['Act', 'Each']);
    expect(g.nodes.find((n) => n.name === 'Undo')?.visited).toBe(false);

    const ended = machineGraph('m', definition, [
      ...history,
      exited('Task', 'Act'),
      exited('Map', 'Each'),
      entered('Succeed', 'Finished'),
      exited('Succeed', 'Finished'),
      event('ExecutionSucceeded'),
    ]);
    expect(ended.nodes.filter((n) => n.current)).toEqual([]);
    expect(ended.edges.find((e) => e.from === 'Each' && e.to === 'Finished')?.taken).toBe(true);
  });

  it('marks a caught failure: the failed state, the catch taken, the Fail state reached', () => {
    const g = machineGraph('m', definition, [
      event('ExecutionStarted'),
      entered('Task', 'Create'),
      event('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: 'Boom' } }),
      entered('Task', 'Undo'),
      exited('Task', 'Undo'),
      entered('Fail', 'Failed'),
      event('ExecutionFailed'),
    ]);
    const node = (name: string) => g.nodes.find((n) => n.name === name)!;
    expect(node('Create')).toMatchObject({ visited: true, failed: true, current: false });
    expect(node('Failed')).toMatchObject({ visited: true, failed: true });
    expect(g.edges.find((e) => e.from === 'Create' && e.to === 'Undo')?.taken).toBe(true);
    expect(g.edges.find((e) => e.from === 'Create' && e.to === 'Done?')?.taken).toBe(false);
  });

  it('says a rule in a few words', () => {
    expect(choiceLabel({ Variable: '$.scalePlan.mode', StringEquals: 'direct' })).toBe(
      'scalePlan.mode = "direct"',
    );
    expect(choiceLabel({ Not: { Variable: '$.a', IsNull: true } })).toBe('not (a is null)');
    expect(choiceLabel({ Variable: '$.t', TimestampLessThanEqualsPath: '$.now' })).toBe('t ≤ now');
  });
});
