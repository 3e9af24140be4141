/**
 * The dashboard's PNG icons (home screens and install prompts want PNG at 192 and 512
 * pixels), drawn from the same shapes as web/public/icon.svg and encoded as PNG with
 * node:zlib: a thermometer on a dark rounded square.
 */
import { deflateSync } from 'node:zlib';

type Rgba = [number, number, number, number];

const BG: Rgba = [0x0f, 0x17, 0x2a, 255];
const GLASS: Rgba = [0xe2, 0xe8, 0xf0, 255];
const MERCURY: Rgba = [0x38, 0xbd, 0xf8, 255];
const NONE: Rgba = [0, 0, 0, 0];

/** The colour at (x, y) of the 64-unit drawing. */
function colourAt(x: number, y: number): Rgba {
  const inRoundRect = (
    x0: number,
    y0: number,
    w: number,
    h: number,
    r: number,
  ): boolean => {
    const cx = Math.min(Math.max(x, x0 + r), x0 + w - r);
    const cy = Math.min(Math.max(y, y0 + r), y0 + h - r);
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r && x >= x0 && y >= y0;
  };
  if (!inRoundRect(0, 0, 64, 64, 12)) return NONE;
  if ((x - 32) ** 2 + (y - 46) ** 2 <= 81) return MERCURY;
  if (x >= 30 && x <= 34 && y >= 22 && y <= 44) return MERCURY;
  if (inRoundRect(28, 10, 8, 32, 4)) return GLASS;
  return BG;
}

export function iconPng(size: number): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y += 1) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x += 1) {
      const c = colourAt(((x + 0.5) * 64) / size, ((y + 0.5) * 64) / size);
      raw.set(c, row + 1 + x * 4);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter choice, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
