// Replays a capture file at its recorded pace, in a loop (the demo's packet source). The file is small
// and read once into memory; timestamps are shifted to the wall clock so DNS expiry behaves as live.
import { ConfigError } from '../config/errors.js';
import { readCaptureFile, type FrameSink } from './file-reader.js';

/** The replay keeps frames in memory: a bounded number of them (and at most 2 KiB of each: headers and whole DNS answers). */
export const MAX_REPLAY_FRAMES = 200_000;
const MAX_REPLAY_BYTES = 2048;

interface Frame {
  linkType: number;
  data: Buffer;
  wireLen: number;
  offset: number; // seconds since the first frame
  iface: number;
}

export interface Replay {
  stop(): void;
  /** Completed passes over the file. */
  readonly loops: number;
}

export function replayLoop(path: string, sink: FrameSink, tickMs = 50): Replay {
  const frames: Frame[] = [];
  let first = NaN;
  const ifaceMap: number[] = [];
  readCaptureFile(path, {
    addInterface: (name, linkType) => ifaceMap.push(sink.addInterface(name, linkType)) - 1,
    frame: (linkType, buf, off, capLen, wireLen, ts, iface) => {
      if (Number.isNaN(first)) first = ts;
      frames.push({ linkType, data: Buffer.from(buf.subarray(off, off + Math.min(capLen, MAX_REPLAY_BYTES))), wireLen, offset: ts - first, iface: ifaceMap[iface] });
    },
  }, MAX_REPLAY_FRAMES);
  if (frames.length === 0) throw new ConfigError(`--demo.capture ${path}: no frames to replay`);
  // one pass lasts the capture's span plus a gap of one mean inter-packet interval
  const span = frames[frames.length - 1].offset;
  const period = span + (span > 0 ? span / frames.length : 1);
  const state = { loops: 0, next: 0, base: Date.now() / 1000 };
  const tick = (): void => {
    const now = Date.now() / 1000;
    // bounded work per tick even after a long pause
    for (let budget = frames.length; budget > 0; budget--) {
      const f = frames[state.next];
      if (state.base + f.offset > now) break;
      sink.frame(f.linkType, f.data, 0, f.data.length, f.wireLen, state.base + f.offset, f.iface);
      state.next++;
      if (state.next === frames.length) {
        state.next = 0;
        state.loops++;
        state.base += period;
      }
    }
  };
  tick();
  const timer = setInterval(tick, tickMs);
  return {
    stop: () => clearInterval(timer),
    get loops() {
      return state.loops;
    },
  };
}
