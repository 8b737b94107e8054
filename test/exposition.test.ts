// /metrics under many scrapers: scrapes that arrive together share one flush and render.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Exposition } from '../src/web/app.js';

/** A clock the test moves, so a window is the same on a busy machine as on an idle one. */
function clock(): { now: () => number; pass: (ms: number) => void } {
  let t = 0;
  return { now: () => t, pass: (ms) => (t += ms) };
}

describe('Exposition', () => {
  it('fifty concurrent scrapes cost one render; a scrape after the sharing window renders anew', async () => {
    let renders = 0;
    const c = clock();
    const e = new Exposition(async () => {
      renders++;
      await new Promise((r) => setTimeout(r, 20));
      return `render ${renders}`;
    }, c.now);
    const bodies = await Promise.all(Array.from({ length: 50 }, () => e.get()));
    expect(renders).toBe(1);
    expect(new Set(bodies)).toEqual(new Set(['render 1']));
    expect(await e.get()).toBe('render 1'); // within the window
    expect((await e.bytes()).toString()).toBe('render 1');
    c.pass(Exposition.SHARE_MS - 1);
    expect(await e.get()).toBe('render 1'); // the window's last moment
    c.pass(1);
    expect(await e.get()).toBe('render 2');
  });

  it('gzip: one compression per render, shared by every scraper that takes it', async () => {
    let renders = 0;
    const t = clock();
    const e = new Exposition(async () => `# render ${++renders}\n`.repeat(1000), t.now);
    const [a, b] = await Promise.all([e.gzip(), e.gzip()]);
    expect(a).toBe(b); // the same Buffer: compressed once
    expect(gunzipSync(a).toString()).toBe((await e.bytes()).toString());
    t.pass(Exposition.SHARE_MS);
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
