// The dashboard's files as shipped: where the service finds them, that the package publishes them,
// that every file the page and its modules load exists, and that nothing needs 'unsafe-inline'.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UI_CSP, UI_DIR } from './ui.js';

const files = (dir: string, rel = ''): string[] =>
  readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(dir, join(rel, e.name)) : [join(rel, e.name)],
  );

describe('the dashboard files', () => {
  it('are in the package folder the service reads (ui/), and the package publishes that folder', () => {
    expect(existsSync(join(UI_DIR, 'index.html'))).toBe(true);
    const pkg = JSON.parse(readFileSync(join(UI_DIR, '..', 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('ui'); // pnpm deploy (the Dockerfile) copies only `files`
  });

  it('every /ui/assets/ file the page and its modules name exists', () => {
    const all = files(UI_DIR).filter((f) => /\.(html|js|css)$/.test(f));
    const named = new Set<string>();
    for (const f of all) {
      const text = readFileSync(join(UI_DIR, f), 'utf8');
      for (const m of text.matchAll(/\/ui\/(assets\/[\w./-]+)/g)) named.add(m[1]!);
      // Relative ES module imports, resolved against the importing file.
      for (const m of text.matchAll(/from '(\.{1,2}\/[\w./-]+)'/g)) {
        named.add(join(f, '..', m[1]!).replaceAll('\\', '/'));
      }
    }
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((n) => !existsSync(join(UI_DIR, n)))).toEqual([]);
  });

  it('has no inline script, style or event handler, which the CSP would block', () => {
    expect(UI_CSP).not.toContain('unsafe-inline');
    for (const f of files(UI_DIR).filter((x) => x.endsWith('.html'))) {
      const html = readFileSync(join(UI_DIR, f), 'utf8');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    }
    for (const f of files(UI_DIR).filter((x) => x.endsWith('.js'))) {
      const js = readFileSync(join(UI_DIR, f), 'utf8');
      expect(js, f).not.toMatch(/innerHTML|setAttribute\('style'|eval\(|new Function/);
    }
  });
});
