// Which addresses are "this host" decides direction. Offline, when the user names none, the busiest
// address of the capture's first packets is taken: a capture made on a host has that host on one
// side of nearly every packet.
import { readCaptureFile } from './file-reader.js';
import { Decoded, decodeFrame, PacketMeta } from '../decode/packet.js';
import { ipv4ToString, ipv6WordsToString } from '../net/ip.js';

export interface LocalGuess {
  ip: string;
  packets: number;
  sampled: number;
}

export function guessLocalIp(files: string[], sample = 20_000): LocalGuess | undefined {
  const counts = new Map<string, number>();
  const m = new PacketMeta();
  let sampled = 0;
  const bump = (k: string): void => {
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  for (const file of files) {
    if (sampled >= sample) break;
    readCaptureFile(
      file,
      {
        addInterface: () => 0,
        frame: (link, buf, off, capLen, wireLen) => {
          if (decodeFrame(link, buf, off, capLen, wireLen, m) !== Decoded.OK) return;
          sampled++;
          if (m.family === 4) {
            bump(ipv4ToString(m.src4));
            bump(ipv4ToString(m.dst4));
          } else {
            bump(ipv6WordsToString(m.src6));
            bump(ipv6WordsToString(m.dst6));
          }
        },
      },
      sample - sampled,
    );
  }
  let best: LocalGuess | undefined;
  for (const [ip, packets] of counts) {
    if (!best || packets > best.packets) best = { ip, packets, sampled };
  }
  return best;
}
