import type { FleetflowConfig } from '../config/schema.ts';
import { logger } from '../log.ts';
import { providerFor } from '../runtime/accounts.ts';
import { nextEdge } from '../schedule/calendar.ts';
import { overrideStore } from '../schedule/context.ts';
import { OverrideNotFoundError } from '../schedule/overrides.ts';
import { previewPlan } from '../schedule/preview.ts';
import { own } from '../shared/keys.ts';
import { isStoreUnavailable } from '../store/dynamo.ts';
import { StoreValidationError } from '../store/errors.ts';
import { type HttpApiEvent, type HttpApiResult, json, problem } from '../webhooks/http-event.ts';

const log = logger.child({ handler: 'schedule-api' });

/** One hour after the skipped edge: a run that starts late still sees the override. */
export const SKIP_GRACE_MS = 60 * 60_000;

/**
 * The schedule API, for the config it was started with:
 *   GET /overrides[?all=true]   POST /overrides   DELETE /overrides/{id}
 *   GET /schedules/plan?days=7[&schedule=name]
 * POST body: {kind: keep-running|skip-next, scope: {schedule?, instanceId?, provider?},
 * until? (keep-running), action? (skip-next: stop|start), reason?}. A skip-next gets its `until`
 * from the schedule: the next such edge, plus an hour.
 */
export function scheduleApi(config?: FleetflowConfig) {
  return async (event: HttpApiEvent): Promise<HttpApiResult> => {
    try {
      const overrides = overrideStore();
      const method = event.requestContext.http.method;
      const actor = `http:${event.requestContext.http.sourceIp ?? 'unknown'}`;
      if (event.rawPath === '/schedules/plan') {
        if (!config) return problem(404, 'no-config', 'fleetflow was started without a config file');
        const days = Number(event.queryStringParameters?.days ?? '7');
        if (!Number.isInteger(days) || days < 1 || days > 62)
          return problem(400, 'invalid-days', 'days must be 1-62');
        const schedule = event.queryStringParameters?.schedule;
        const preview = await previewPlan({
          config,
          days,
          now: new Date(),
          overrides: await overrides.list(),
          list: async (target, filter) => (await providerFor(target)).list(filter),
          ...(schedule && { schedules: [schedule] }),
        });
        return json(200, preview);
      }
      if (method === 'GET')
        return json(200, {
          overrides: await overrides.list({ all: event.queryStringParameters?.all === 'true' }),
        });
      if (method === 'DELETE') {
        const id = event.pathParameters?.id;
        if (!id) return problem(400, 'missing-id', 'DELETE /overrides/{id}');
        return json(200, { cleared: await overrides.clear(id, { type: 'api', actor }) });
      }
      let body: unknown;
      try {
        body = JSON.parse(event.body ?? '{}');
      } catch {
        return problem(400, 'invalid-json', 'the body is not JSON');
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body))
        return problem(400, 'invalid-override', 'the body must be a JSON object (an override)');
      const input = withUntil(body as Record<string, unknown>, config);
      return json(201, { override: await overrides.set(input as never, { type: 'api', actor }) });
    } catch (error) {
      if (error instanceof OverrideNotFoundError) return problem(404, 'override-not-found', error.message);
      if (error instanceof StoreValidationError || error instanceof RangeError)
        return problem(400, 'invalid-override', error.message);
      if (isStoreUnavailable(error))
        return problem(503, 'store-unavailable', 'the override store cannot be read now; try again later', {
          'retry-after': '10',
        });
      log.error('schedule api failed', { error: (error as Error).name, message: (error as Error).message });
      return problem(500, 'internal-error', 'internal error');
    }
  };
}

/** A skip-next without `until` ends an hour after the schedule's next edge of that action. */
export function withUntil(
  body: Record<string, unknown>,
  config: FleetflowConfig | undefined,
  now = new Date(),
): Record<string, unknown> {
  if (body.until !== undefined || body.kind !== 'skip-next') return body;
  const scope = (body.scope ?? {}) as { schedule?: string };
  const schedule = scope.schedule ? own(config?.schedules, scope.schedule) : undefined;
  if (!schedule)
    throw new RangeError(
      'a skip-next override needs scope.schedule (a configured schedule) or an explicit until',
    );
  const action = body.action === 'start' ? 'start' : 'stop';
  const edge = nextEdge(schedule, action, now);
  if (!edge) throw new RangeError(`schedule ${scope.schedule} has no upcoming ${action}`);
  return { ...body, action, until: new Date(edge.at.getTime() + SKIP_GRACE_MS).toISOString() };
}
