import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../../lib/schema';

describe('Function: configJsonSchema', () => {
  it('matches the committed keyrelay.schema.json (run `npx tsx bin/schema.ts` after changing lib/config.ts)', () => {
    // Act
    const committed = readFileSync(new URL('../../../keyrelay.schema.json', import.meta.url), 'utf8');
    // Assess
    expect(committed).toBe(configJsonSchemaText());
  });

  it('describes the deploy-only fields with their defaults', () => {
    // Act
    const schema = configJsonSchema() as { properties: Record<string, { description?: string }> };
    // Assess
    for (const field of ['keys', 'defaults', 'alarms', 'tags', 'readers', 'stacks', 'engine']) {
      expect(schema.properties[field]?.description, field).toBeTruthy();
    }
    expect(schema.properties.stacks?.description).toMatch(/@default/);
  });

  it('is the schema the example config points at', () => {
    // Act
    const example = JSON.parse(readFileSync(new URL('../../../keyrelay.config.json', import.meta.url), 'utf8')) as { $schema: string };
    // Assess
    expect(example.$schema).toBe('./keyrelay.schema.json');
  });
});
