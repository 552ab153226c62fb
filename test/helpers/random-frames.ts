// Random WebSocket frame streams for differential fuzzing: mostly well-formed
// (fragmented messages, pings, pongs, closes, every length encoding), with a
// small share of every kind of protocol garbage the scanner must catch.
// Seeded, so a failing case can be replayed from its seed.

/** xorshift32: fast, seedable, good enough to pick frame shapes. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
}

export interface RandomStream {
  readonly bytes: Buffer;
  /** Frames written, garbage included. */
  readonly frames: number;
}

/** A stream of `frameCount` frames as a client (masked) or a server (unmasked) would send them, with garbage at `garbageRate`. */
export function randomFrameStream(random: Random, masked: boolean, frameCount: number, garbageRate: number): RandomStream {
  const parts: Buffer[] = [];
  let fragmented = false;
  for (let i = 0; i < frameCount; i++) {
    const garbage = random.chance(garbageRate);
    const kind = random.below(10);
    let opcode: number;
    let fin = true;
    let length = smallLength(random);
    if (kind < 4) {
      opcode = fragmented ? 0 : 1 + random.below(2);
      fin = random.chance(0.6);
    } else if (kind < 6) {
      opcode = 0x9;
    } else if (kind < 8) {
      opcode = 0xa;
    } else {
      opcode = 0x8;
      length = random.chance(0.2) ? 0 : 2 + random.below(20);
    }
    if (opcode >= 0x8) length = Math.min(length, 125);
    let frameMasked = masked;
    let lengthField: 'auto' | 16 | 64 | 'huge' = random.chance(0.05) ? (random.chance(0.5) ? 16 : 64) : 'auto';
    if (garbage) {
      switch (random.below(8)) {
        case 0: opcode = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf][random.below(10)]!; break;
        case 1: frameMasked = !masked; break;
        case 2: opcode = 0x8 + random.below(3); fin = false; break;
        case 3: opcode = 0; fragmented = false; break; // continuation without a message
        case 4: opcode = 1 + random.below(2); fragmented = true; break; // new message inside one
        case 5: opcode = 0x9; length = 126 + random.below(200); lengthField = 16; break;
        case 6: opcode = 0x8; length = 1; break;
        default: lengthField = 'huge'; break;
      }
    }
    if (kind < 4 && !garbage) fragmented = !fin;
    else if (garbage && opcode < 0x8 && opcode <= 2) fragmented = opcode === 0 ? !fin && fragmented : !fin;
    parts.push(encode(random, opcode, fin, frameMasked, length, lengthField));
  }
  return { bytes: Buffer.concat(parts), frames: frameCount };
}

/** Short payloads keep a million frames fed byte by byte affordable; long encodings come from lengthField. */
function smallLength(random: Random): number {
  return random.below(100) < 95 ? random.below(24) : 120 + random.below(100);
}

function encode(random: Random, opcode: number, fin: boolean, masked: boolean, length: number, lengthField: 'auto' | 16 | 64 | 'huge'): Buffer {
  const header: number[] = [(fin ? 0x80 : 0) | (opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  if (lengthField === 'huge') {
    // Beyond 2^53 - 1: rejected from the header alone, so no payload follows.
    header.push(maskBit | 127, 0x00, 0x20 + random.below(0xe0), 0, 0, 0, 0, 0, 0);
    length = 0;
  } else if (lengthField === 64 || (lengthField === 'auto' && length > 0xffff)) {
    header.push(maskBit | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  } else if (lengthField === 16 || length > 125) {
    header.push(maskBit | 126, (length >>> 8) & 0xff, length & 0xff);
  } else {
    header.push(maskBit | length);
  }
  if (masked) for (let i = 0; i < 4; i++) header.push(random.below(256));
  const frame = Buffer.alloc(header.length + length);
  for (let i = 0; i < header.length; i++) frame[i] = header[i]!;
  for (let i = header.length; i < frame.length; i++) frame[i] = random.below(256);
  return frame;
}

/** Chunk ends for `length` bytes: every byte its own chunk, one chunk, or random cuts. */
export function chunkEnds(random: Random, length: number, how: 'bytes' | 'whole' | 'random'): Uint32Array {
  if (how === 'whole') return Uint32Array.of(length);
  if (how === 'bytes') {
    const ends = new Uint32Array(length);
    for (let i = 0; i < length; i++) ends[i] = i + 1;
    return ends;
  }
  const ends: number[] = [];
  let at = 0;
  while (at < length) {
    at = Math.min(length, at + 1 + random.below(random.chance(0.5) ? 8 : 200));
    ends.push(at);
  }
  return Uint32Array.from(ends);
}
