// Reference frames for scanner tests, built by ws's own Sender (an independent encoder).
import { randomBytes } from 'node:crypto';
// ws exports its Sender at run time; its type definitions leave it out.
import * as ws from 'ws';

type FrameFunction = (data: Buffer, options: object) => Buffer[];
const frame = (ws as unknown as { Sender: { frame: FrameFunction } }).Sender.frame;

export interface FrameSpec {
  readonly opcode: number;
  readonly fin: boolean;
  readonly payload: Buffer;
  readonly masked: boolean;
}

export function encodeFrame(spec: FrameSpec): Buffer {
  const parts = frame(spec.payload, {
    fin: spec.fin,
    opcode: spec.opcode,
    mask: spec.masked,
    readOnly: true,
    rsv1: false,
  });
  return Buffer.concat(parts);
}

export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/** What a correct scanner must report for a stream. */
export interface Expected {
  messages: number;
  payloadBytes: number;
  closeCodes: number[];
  controlFrames: number;
  /** Offsets (in the whole stream) just after each complete data message. */
  messageEnds: number[];
  /** Offsets just after each frame. */
  frameEnds: number[];
}

export interface Stream {
  readonly bytes: Buffer;
  readonly expected: Expected;
}

/** Builds a stream from specs and the counts a scanner must find in it. */
export function buildStream(specs: readonly FrameSpec[]): Stream {
  const expected: Expected = { messages: 0, payloadBytes: 0, closeCodes: [], controlFrames: 0, messageEnds: [], frameEnds: [] };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const spec of specs) {
    const frame = encodeFrame(spec);
    parts.push(frame);
    offset += frame.length;
    expected.frameEnds.push(offset);
    if (spec.opcode >= 8) {
      expected.controlFrames++;
      if (spec.opcode === 8) expected.closeCodes.push(spec.payload.length >= 2 ? spec.payload.readUInt16BE(0) : 1005);
    } else {
      expected.payloadBytes += spec.payload.length;
      if (spec.fin) {
        expected.messages++;
        expected.messageEnds.push(offset);
      }
    }
  }
  return { bytes: Buffer.concat(parts), expected };
}

const POOL = randomBytes(1 << 17);

/** A random valid stream: messages (some fragmented) with control frames in between and inside. */
export function randomSpecs(count: number, masked: boolean, random: () => number): FrameSpec[] {
  const specs: FrameSpec[] = [];
  const size = (): number => {
    const r = random();
    if (r < 0.88) return Math.floor(random() * 126);
    if (r < 0.997) return 126 + Math.floor(random() * 2000);
    return 65536 + Math.floor(random() * 5000);
  };
  const bytes = (length: number): Buffer => {
    const start = Math.floor(random() * (POOL.length - length));
    return POOL.subarray(start, start + length);
  };
  const control = (): FrameSpec => {
    const kind = random();
    if (kind < 0.4) return { opcode: 9, fin: true, payload: bytes(Math.floor(random() * 126)), masked };
    if (kind < 0.8) return { opcode: 10, fin: true, payload: bytes(Math.floor(random() * 126)), masked };
    const withCode = random() < 0.8;
    return { opcode: 8, fin: true, payload: withCode ? closePayload(1000 + Math.floor(random() * 4000), 'bye') : Buffer.alloc(0), masked };
  };
  while (specs.length < count) {
    if (random() < 0.15) {
      specs.push(control());
      continue;
    }
    const fragments = random() < 0.2 ? 2 + Math.floor(random() * 4) : 1;
    const opcode = random() < 0.5 ? 1 : 2;
    for (let i = 0; i < fragments && specs.length < count; i++) {
      const last = i === fragments - 1 || specs.length === count - 1;
      specs.push({ opcode: i === 0 ? opcode : 0, fin: last, payload: bytes(size()), masked });
      if (!last && random() < 0.2 && specs.length < count - 1) specs.push(control());
    }
  }
  return specs;
}

/** A small seeded PRNG (mulberry32), so failures can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
