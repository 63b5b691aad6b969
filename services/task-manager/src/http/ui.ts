// The dashboard's static files under /ui, declared beside their handler: the HTML shell for every
// client-side route (/ui, /ui/tasks/:id …) and the ES modules, stylesheet and icon it loads.
// Public (the files hold no data; every API call they make carries the user's token), cached by
// ETag, and under a Content-Security-Policy that allows only this origin's scripts and styles.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uiAssetSchema } from '@taskwire/contracts';
import type { Context } from 'hono';
import { AppError } from '../domain/errors.js';
import { defineRoutes } from './route.js';
import type { Handlers } from './route.js';
import type { AppEnv } from './types.js';

/** services/task-manager/ui, from src/http (tests) and dist/http (the built service) alike. */
export const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** No inline script or style anywhere: the pages load only their own files and call only this origin. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const uiRoutes = defineRoutes({
  getUi: {
    method: 'GET',
    path: '/ui',
    tag: 'system',
    summary: 'The web dashboard (HTML; no token needed to load it, its API calls carry one)',
    access: 'public',
    database: false,
    ok: { 200: ['The dashboard page', uiAssetSchema, 'text/html'] },
  },
  getUiFile: {
    method: 'GET',
    path: '/ui/*',
    tag: 'system',
    summary:
      "The dashboard's files under /ui/assets/, and its page for any other /ui path (client-side routes)",
    access: 'public',
    database: false,
    ok: { 200: ['A dashboard file or page', uiAssetSchema, 'text/html'] },
    errors: [404],
  },
});

interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

/** Every file of UI_DIR (and its assets/), read once on first use: a few tens of kB. */
async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (TYPES[extname(entry.name)]) {
        const body = new Uint8Array(await readFile(join(dir, path)));
        const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
        out.set(path, { body, type: TYPES[extname(entry.name)]!, etag: `"${hash}"` });
      }
    }
  };
  await walk('');
  return out;
}

export function uiHandlers(dir: string = UI_DIR): Handlers<typeof uiRoutes> {
  let assets: Promise<Map<string, Asset>> | undefined;
  const files = (): Promise<Map<string, Asset>> => {
    assets ??= loadAssets(dir).catch((err: unknown) => {
      assets = undefined; // a later request tries again
      throw err;
    });
    return assets;
  };

  const send = (c: Context<AppEnv>, asset: Asset): Response => {
    c.header('Content-Security-Policy', UI_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    // Revalidate every time: a new release shows at once, an unchanged file costs a 304.
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', asset.etag);
    const match = c.req.header('if-none-match');
    if (match !== undefined && match.split(',').some((t) => t.trim().replace(/^W\//, '') === asset.etag)) {
      return c.body(null, 304);
    }
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': asset.type });
  };

  const page = async (c: Context<AppEnv>): Promise<Response> => {
    const index = (await files()).get('index.html');
    if (!index) throw new AppError('not_found', `the dashboard is not installed: no index.html in ${dir}`);
    return send(c, index);
  };

  return {
    getUi: page,
    getUiFile: async (c) => {
      const rest = c.req.path.replace(/^\/ui\/?/, '');
      // A file of the dashboard; anything else under /ui is one of its pages (deep links survive a reload).
      if (!rest.startsWith('assets/')) return page(c);
      const asset = (await files()).get(rest);
      if (!asset) throw new AppError('not_found', `no dashboard file ${JSON.stringify(c.req.path)}`);
      return send(c, asset);
    },
  };
}
