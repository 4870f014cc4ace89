import type * as z from 'zod';

/**
 * The ONE way a request schema says "this carries a secret". Secret values are sealed when a
 * request comes in, travel as references (`{"$secret": "<id>"}`) through the job, the workflow and
 * the audit trail, and are resolved only by the step that calls the provider (docs/security.md).
 */
export interface SecretMeta {
  /** `true`: the whole value is secret. `'by-key'`: a map whose entries are secret when the key looks like a credential. */
  secret: true | 'by-key';
}

/** Marks a field as secret (userData, a password). Mark only optional fields: a sealed request is validated without them. */
export function secret<S extends z.ZodType>(schema: S): S {
  return schema.meta({ secret: true } satisfies SecretMeta);
}

/** Marks a map (labels, provider options) whose entries are secret when their key matches CREDENTIAL_KEY. */
export function secretByKey<S extends z.ZodType>(schema: S): S {
  return schema.meta({ secret: 'by-key' } satisfies SecretMeta);
}

/** Where a schema keeps secrets: a path of object keys, and whether the value there is secret whole or by key. */
export interface SecretPosition {
  path: string[];
  kind: SecretMeta['secret'];
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
};

/**
 * Every secret position of a schema, found by walking it (objects, unions, optional/default
 * wrappers). Positions of a union's options are merged: a provider's request shares most fields.
 */
export function secretPositions(schema: z.ZodType): SecretPosition[] {
  const found = new Map<string, SecretPosition>();
  const walk = (s: z.ZodType, path: string[]) => {
    const meta = s.meta() as Partial<SecretMeta> | undefined;
    if (meta?.secret === true || meta?.secret === 'by-key') {
      found.set(JSON.stringify([path, meta.secret]), { path, kind: meta.secret });
      // A map marked by key may still declare a field secret outright (Genesis Cloud's extra.password).
      if (meta.secret === true) return;
    }
    const def = s._zod.def as unknown as Def;
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
        if (def.innerType) walk(def.innerType, path);
        return;
      case 'pipe':
        if (def.in) walk(def.in, path);
        return;
      case 'union':
        for (const option of def.options ?? []) walk(option, path);
        return;
      case 'object':
        for (const [key, field] of Object.entries(def.shape ?? {})) walk(field, [...path, key]);
        return;
      default:
        return;
    }
  };
  walk(schema, []);
  return [...found.values()];
}
