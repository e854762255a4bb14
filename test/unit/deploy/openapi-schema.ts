/**
 * Checks a value against a CRD's OpenAPI v3 schema the way the API server's validation
 * does for the keywords deploy/crds uses (type, properties, required, enum, items,
 * additionalProperties, pattern, minLength, minimum, format date-time), and checks that a
 * schema is structural (the API server rejects CRDs whose schemas are not).
 */
export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  minimum?: number;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [k: string]: unknown;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Every violation, as "path: message". Unknown fields count: the API server would prune them. */
export function validateAgainst(schema: SchemaNode, value: unknown, path = ''): string[] {
  const out: string[] = [];
  const here = path || '<root>';
  if (value === undefined || value === null) return [`${here}: must not be null`];
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${here}: must be an object`];
      const o = value as Record<string, unknown>;
      for (const r of schema.required ?? []) if (!(r in o)) out.push(`${here}.${r}: required`);
      for (const [k, v] of Object.entries(o)) {
        const sub =
          schema.properties?.[k] ??
          (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        if (sub) out.push(...validateAgainst(sub, v, `${path}.${k}`));
        else if (!schema['x-kubernetes-preserve-unknown-fields'] && path !== '.metadata')
          out.push(`${path}.${k}: unknown field (would be pruned)`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${here}: must be an array`];
      value.forEach((v, i) => out.push(...validateAgainst(schema.items!, v, `${path}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') return [`${here}: must be a string`];
      if (schema.pattern && !new RegExp(schema.pattern).test(value))
        out.push(`${here}: does not match ${schema.pattern}`);
      if (schema.minLength !== undefined && value.length < schema.minLength)
        out.push(`${here}: shorter than ${schema.minLength}`);
      if (schema.format === 'date-time' && !RFC3339.test(value)) out.push(`${here}: not an RFC 3339 date-time`);
      break;
    case 'integer':
      if (!Number.isInteger(value)) return [`${here}: must be an integer`];
      if (schema.minimum !== undefined && (value as number) < schema.minimum)
        out.push(`${here}: below ${schema.minimum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${here}: must be a boolean`];
      break;
    default:
      out.push(`${here}: schema type ${schema.type} is not handled by this checker`);
  }
  if (schema.enum && !schema.enum.includes(value)) out.push(`${here}: must be one of ${schema.enum.join(', ')}`);
  return out;
}

/** Problems that make a schema non-structural. */
export function structuralProblems(schema: SchemaNode, path = ''): string[] {
  const out: string[] = [];
  const here = path || '<root>';
  if (!schema.type && !schema['x-kubernetes-int-or-string'] && !schema['x-kubernetes-preserve-unknown-fields'])
    out.push(`${here}: type is required`);
  if (schema.properties && schema.type !== 'object') out.push(`${here}: properties on a non-object`);
  if (schema.properties && schema.additionalProperties !== undefined)
    out.push(`${here}: properties and additionalProperties are mutually exclusive`);
  if (schema.type === 'array' && !schema.items) out.push(`${here}: arrays need items`);
  for (const [k, v] of Object.entries(schema.properties ?? {})) out.push(...structuralProblems(v, `${path}.${k}`));
  if (typeof schema.additionalProperties === 'object')
    out.push(...structuralProblems(schema.additionalProperties, `${path}.*`));
  if (schema.items) out.push(...structuralProblems(schema.items, `${path}[]`));
  return out;
}
