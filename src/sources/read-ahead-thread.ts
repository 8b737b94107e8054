// The thread of a file read ahead (read-ahead.ts): fills the two shared buffers in turn, in file order,
// each as soon as the reader has let go of it. It loads nothing but fs.
import { closeSync, openSync, readSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { path, buffers, control, room, bytes } = workerData as { path: string; buffers: SharedArrayBuffer[]; control: SharedArrayBuffer; room: number; bytes: number };
// per buffer: 0 empty (the thread may fill it), 1 full (the reader holds it), 2 the read failed
const state = new Int32Array(control, 0, 2);
const lengths = new Int32Array(control, 8, 2);
const fd = openSync(path, 'r');
let position = 0;
for (let i = 0; ; i ^= 1) {
  Atomics.wait(state, i, 1);
  let got: number;
  try {
    got = readSync(fd, new Uint8Array(buffers[i], room, bytes), 0, bytes, position);
  } catch {
    Atomics.store(state, i, 2);
    Atomics.notify(state, i);
    break;
  }
  position += got;
  lengths[i] = got;
  Atomics.store(state, i, 1);
  Atomics.notify(state, i);
  if (got === 0) break;
}
closeSync(fd);
