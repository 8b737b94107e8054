// /metrics under many scrapers: scrapes that arrive together share one flush and render.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Exposition } from '../src/web/app.js';

describe('Exposition', () => {
  it('fifty concurrent scrapes cost one render; a scrape after the sharing window renders anew', async () => {
    let renders = 0;
    const e = new Exposition(async () => {
      renders++;
      await new Promise((r) => setTimeout(r, 20));
      return `render ${renders}`;
    });
    const bodies = await Promise.all(Array.from({ length: 50 }, () => e.get()));
    expect(renders).toBe(1);
    expect(new Set(bodies)).toEqual(new Set(['render 1']));
    expect(await e.get()).toBe('render 1'); // within the window
    expect((await e.bytes()).toString()).toBe('render 1');
    await new Promise((r) => setTimeout(r, Exposition.SHARE_MS + 10));
    expect(await e.get()).toBe('render 2');
  });

  it('gzip: one compression per render, shared by every scraper that takes it', async () => {
    let renders = 0;
    const e = new Exposition(async () => `# render ${++renders}\n`.repeat(1000));
    const [a, b] = await Promise.all([e.gzip(), e.gzip()]);
    expect(a).toBe(b); // the same Buffer: compressed once
    expect(gunzipSync(a).toString()).toBe((await e.bytes()).toString());
    await new Promise((r) => setTimeout(r, Exposition.SHARE_MS + 10));
    const c = await e.gzip();
    expect(c).not.toBe(a);
    expect(gunzipSync(c).toString()).toBe('# render 2\n'.repeat(1000));
  });

  it('a render that fails is not kept: the next scrape tries again', async () => {
    let n = 0;
    const e = new Exposition(async () => {
      if (++n === 1) throw new Error('boom');
      return 'ok';
    });
    await expect(e.get()).rejects.toThrow('boom');
    expect(await e.get()).toBe('ok');
  });
});
