// The simulator kit: what every provider simulator shares (see simulator.ts for the pipeline).
export { Timeline } from './clock.ts';
export { type Faults, NO_FAULTS, nextOperationOutcome } from './faults.ts';
export { parseRequest, type SimRequest, type SimResponse } from './http.ts';
export { seededRandom, seededUuid, stableUuid } from './ids.ts';
export { LOAD_LEVELS, type Load, type LoadLevel, LoadModel } from './load.ts';
export { TokenBucket } from './rate-limit.ts';
export { CommandTable, RouteTable, route, routeTable, type SimHandler } from './routes.ts';
export {
  type RequestLogEntry,
  SeedingNotSupportedError,
  type SeedRequest,
  SimulatorBase,
  type SimulatorDescription,
  type SimulatorOptions,
} from './simulator.ts';
export { allowedFrom, type Transition, type TransitionTable } from './transitions.ts';
