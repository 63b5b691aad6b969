// Store contract: templates — JSON columns, live-only name uniqueness, soft delete, change detection.
import { describe, expect, it } from 'vitest';
import { UniqueViolation } from '../types.js';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, ids, makeTemplate, uniqueName } from './fixtures.js';

export function templatesContract(makeStore: MakeStore): void {
  describe('templates', () => {
    const store = useStore(makeStore);

    it('a template round-trips with its JSON columns, unicode and millisecond times', async () => {
      const t = makeTemplate({
        description: 'Grüße, 世界 🚀 — "quoted" \\ back',
        paramSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        resultSchema: { type: 'array', items: { type: ['string', 'null'] } },
        defaultParams: { n: 1, tags: ['a', 'ü', '🚀'], nested: { deep: [null, true, 1.5] }, none: null },
        cronExpression: '*/5 * * * *',
        cronTimezone: 'Europe/Berlin',
        enabled: false,
        backoff: { initialMs: 250, factor: 1.5, maxMs: 10_000, jitter: 0 },
        missedFirePolicy: 'run_once',
        overlapPolicy: 'skip',
        createdAt: at(1),
        updatedAt: at(999),
      });
      await store().insertTemplate(t);
      expect(await store().getTemplate(t.id)).toEqual(t);
      expect(await store().getTemplateByName(t.name)).toEqual(t);
      expect(await store().getTemplate('0'.repeat(26))).toBeNull();
    });

    it('a second live template with the same name is a UniqueViolation on template_name', async () => {
      const t = makeTemplate();
      await store().insertTemplate(t);
      const dup = store().insertTemplate(makeTemplate({ name: t.name }));
      await expect(dup).rejects.toBeInstanceOf(UniqueViolation);
      await expect(dup).rejects.toMatchObject({ constraint: 'template_name' });
    });

    it('names compare exactly: a name differing only in case is another name', async () => {
      const t = makeTemplate({ name: uniqueName('Case') });
      await store().insertTemplate(t);
      await store().insertTemplate(makeTemplate({ name: t.name.toLowerCase() }));
      expect((await store().getTemplateByName(t.name))?.id).toBe(t.id);
    });

    it('deleting a template hides it, frees its name and keeps it readable for its tasks', async () => {
      const old = makeTemplate();
      await store().insertTemplate(old);
      expect(await store().deleteTemplate(old.id, at(5000))).toBe(true);
      expect(await store().deleteTemplate(old.id, at(6000))).toBe(false);
      expect(await store().getTemplate(old.id)).toBeNull();
      expect(await store().getTemplateByName(old.name)).toBeNull();
      expect(await store().getTemplateIncludingDeleted(old.id)).toEqual({
        ...old,
        deletedAt: at(5000),
        updatedAt: at(5000),
      });

      const reused = makeTemplate({ name: old.name });
      await store().insertTemplate(reused);
      expect((await store().getTemplateByName(old.name))?.id).toBe(reused.id);
      expect(ids(await store().getTemplates([old.id, reused.id])).sort()).toEqual([old.id, reused.id].sort());
      expect(await store().updateTemplate(old.id, { description: 'x' })).toBe(false);
      expect(await store().deleteTemplate('0'.repeat(26), at(0))).toBe(false);
    });

    it('updateTemplate patches a live template and keeps its name unique', async () => {
      const a = makeTemplate();
      const b = makeTemplate();
      await store().insertTemplate(a);
      await store().insertTemplate(b);
      const renamed = uniqueName('renamed');
      const patch = { name: renamed, defaultParams: { x: [1, 2] }, paramSchema: null, updatedAt: at(77) };
      expect(await store().updateTemplate(a.id, patch)).toBe(true);
      expect(await store().getTemplate(a.id)).toEqual({ ...a, ...patch });
      expect(await store().getTemplateByName(a.name)).toBeNull();
      expect((await store().getTemplateByName(renamed))?.id).toBe(a.id);
      await expect(store().updateTemplate(b.id, { name: renamed })).rejects.toMatchObject({
        constraint: 'template_name',
      });
      expect(await store().updateTemplate(b.id, {})).toBe(true);
      expect(await store().updateTemplate('0'.repeat(26), { enabled: false })).toBe(false);
    });

    it('getTemplates returns the templates asked for, none for an empty list', async () => {
      const a = makeTemplate();
      const b = makeTemplate();
      await store().insertTemplate(a);
      await store().insertTemplate(b);
      expect(await store().getTemplates([])).toEqual([]);
      const got = await store().getTemplates([b.id, a.id, '0'.repeat(26)]);
      expect(got.sort((x, y) => x.id.localeCompare(y.id))).toEqual([a, b]);
    });
  });

  describe('template listing', () => {
    const store = useStore(makeStore);

    it('listTemplates lists live templates; cronOnly keeps those with a cron expression', async () => {
      const plain = makeTemplate();
      const cron = makeTemplate({ cronExpression: '0 * * * *' });
      const gone = makeTemplate({ cronExpression: '0 * * * *' });
      for (const t of [plain, cron, gone]) await store().insertTemplate(t);
      await store().deleteTemplate(gone.id, at(1));
      expect(ids(await store().listTemplates())).toEqual([plain.id, cron.id]);
      expect(ids(await store().listTemplates({ cronOnly: true }))).toEqual([cron.id]);
    });

    it('templatesVersion changes on every insert, update and delete', async () => {
      const seen = new Set([await store().templatesVersion()]);
      const t = makeTemplate({ updatedAt: at(-1_000_000) });
      await store().insertTemplate(t);
      seen.add(await store().templatesVersion());
      await store().updateTemplate(t.id, { enabled: false, updatedAt: at(1_000_000) });
      seen.add(await store().templatesVersion());
      await store().deleteTemplate(t.id, at(2_000_000));
      seen.add(await store().templatesVersion());
      expect(seen.size).toBe(4);
    });
  });
}
