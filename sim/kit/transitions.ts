/**
 * An instance action in a simulator's state machine, as data: the states it may start from, the
 * state shown while it runs (absent: the state does not change until it ends), the state it ends
 * in. Each simulator keeps one table of these (plus whatever its provider adds per action), so
 * the rules read as a table instead of one case per action.
 */
export interface Transition<S extends string> {
  from: readonly S[];
  during?: S;
  to: S;
}

export type TransitionTable<A extends string, S extends string, Extra = unknown> = Readonly<
  Record<A, Transition<S> & Extra>
>;

/** The actions a state allows, in the table's order. */
export function allowedFrom<A extends string, S extends string>(table: TransitionTable<A, S>, state: S): A[] {
  return (Object.keys(table) as A[]).filter((action) => table[action].from.includes(state));
}
