import { describe, expect, it } from 'vitest';
import { assertSupportedSchema, validateJson, type JsonSchema } from './json-schema.js';

const record: JsonSchema = {
  anyOf: [{ $ref: '#/definitions/A' }, { $ref: '#/definitions/TXT' }],
  definitions: {
    A: {
      type: 'object',
      properties: {
        type: { type: 'string', const: 'A' },
        name: { type: 'string' },
        ttl: { $ref: '#/definitions/TTL' },
        tags: { type: 'array', items: { type: 'string' } },
      },
      required: ['type', 'name'],
      additionalProperties: false,
    },
    TXT: {
      type: 'object',
      properties: {
        type: { type: 'string', const: 'TXT' },
        name: { type: 'string' },
        content: { type: ['string', 'null'] },
      },
      required: ['type', 'name'],
      additionalProperties: false,
    },
    TTL: { anyOf: [{ type: 'number' }, { type: 'number', const: 1 }] },
  },
};

describe('validateJson', () => {
  it('accepts values of any alternative', () => {
    expect(validateJson(record, { type: 'A', name: 'a', ttl: 60, tags: ['x'] })).toEqual([]);
    expect(validateJson(record, { type: 'TXT', name: 'a', content: null })).toEqual([]);
  });

  it('refuses unknown properties, missing ones and wrong types, naming the closest shape', () => {
    const unknown = validateJson(record, { type: 'A', name: 'a', contnet: 'x' });
    expect(unknown).toHaveLength(1);
    expect(unknown[0]!.message).toContain('/contnet is not allowed');
    expect(validateJson(record, { type: 'A' })[0]!.message).toContain('needs name');
    expect(validateJson(record, { type: 'A', name: 'a', ttl: '60' })[0]!.message).toContain('/ttl');
    expect(validateJson(record, { type: 'MX', name: 'a' })).toHaveLength(1);
    expect(validateJson(record, { type: 'A', name: 'a', tags: [1] })[0]!.message).toContain(
      '/tags/0 must be string, not number',
    );
    expect(validateJson(record, 'text')).toHaveLength(1);
  });

  it('checks enum and const', () => {
    const schema: JsonSchema = { type: 'string', enum: ['asc', 'desc'] };
    expect(validateJson(schema, 'asc')).toEqual([]);
    expect(validateJson(schema, 'up')[0]!.message).toBe('must be one of "asc", "desc"');
  });

  it('coerces query-string values only when asked', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        page: { type: 'number' },
        on: { type: 'boolean' },
        kinds: { type: 'array', items: { type: 'string', enum: ['full', 'partial'] } },
      },
      additionalProperties: false,
    };
    const query = { page: '2', on: 'true', kinds: 'full' };
    expect(validateJson(schema, query, { coerceStrings: true })).toEqual([]);
    expect(validateJson(schema, query)).toHaveLength(3);
    expect(validateJson(schema, { page: 'two' }, { coerceStrings: true })).toHaveLength(1);
    expect(validateJson(schema, { kinds: 'none' }, { coerceStrings: true })).toHaveLength(1);
  });
});

describe('assertSupportedSchema', () => {
  it('accepts the keywords it implements', () => {
    expect(() => {
      assertSupportedSchema(record);
    }).not.toThrow();
  });

  it('refuses a keyword it would otherwise ignore', () => {
    expect(() => {
      assertSupportedSchema({ type: 'number', minimum: 60 });
    }).toThrow('unsupported keyword minimum');
    expect(() => {
      assertSupportedSchema({ properties: { a: { type: 'string', pattern: '^a' } } });
    }).toThrow('#/properties/a: unsupported keyword pattern');
  });

  it('refuses a reference that does not resolve', () => {
    expect(() => {
      assertSupportedSchema({ $ref: '#/definitions/Missing' });
    }).toThrow('does not resolve');
  });
});
