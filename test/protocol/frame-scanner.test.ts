import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Boundary, FrameScanner, ScanEvent } from '../../proxy/protocol/frame-scanner.js';
import { buildStream, closePayload, encodeFrame, randomSpecs, seededRandom, type Expected, type FrameSpec } from '../helpers/frames.js';

interface Observed {
  messages: number;
  payloadBytes: number;
  closeCodes: number[];
  controlFrames: number;
  stops: number[];
  error?: string;
}

/** Feeds `chunks` to a scanner the way a pump does, recording every stop. */
function scanChunks(scanner: FrameScanner, chunks: Buffer[]): Observed {
  const observed: Observed = { messages: 0, payloadBytes: 0, closeCodes: [], controlFrames: 0, stops: [] };
  let base = 0;
  for (const chunk of chunks) {
    let pos = 0;
    for (;;) {
      const stop = scanner.scan(chunk, pos);
      if (scanner.event === ScanEvent.None) break;
      if (scanner.event === ScanEvent.Error) {
        observed.error = scanner.error!.code;
        return { ...observed, messages: scanner.messages, payloadBytes: scanner.payloadBytes };
      }
      if (scanner.event === ScanEvent.ControlEnd) {
        observed.controlFrames++;
        if (scanner.lastOpcode === 8) observed.closeCodes.push(scanner.closeCode);
      }
      if (scanner.event === ScanEvent.Boundary) observed.stops.push(base + stop);
      pos = stop;
    }
    base += chunk.length;
  }
  return { ...observed, messages: scanner.messages, payloadBytes: scanner.payloadBytes };
}

function expectCounts(observed: Observed, expected: Expected): void {
  expect(observed.error).toBeUndefined();
  expect(observed.messages).toBe(expected.messages);
  expect(observed.payloadBytes).toBe(expected.payloadBytes);
  expect(observed.closeCodes).toEqual(expected.closeCodes);
  expect(observed.controlFrames).toBe(expected.controlFrames);
}

function summary(counts: Pick<Observed, 'messages' | 'payloadBytes' | 'closeCodes' | 'controlFrames' | 'error'>): string {
  return `${counts.error ?? ''}|${counts.messages}|${counts.payloadBytes}|${counts.closeCodes.join(',')}|${counts.controlFrames}`;
}

function randomChunks(bytes: Buffer, random: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const size = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}

const payload = (length: number): Buffer => Buffer.alloc(length, 0x61);

// Every header shape: 7-bit, 16-bit and 64-bit lengths at their edges, masked and not, every opcode.
const SHAPES: Array<[string, FrameSpec[]]> = [];
for (const masked of [false, true]) {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    SHAPES.push([`text ${length} B${masked ? ' masked' : ''}`, [{ opcode: 1, fin: true, payload: payload(length), masked }]]);
    SHAPES.push([`binary ${length} B${masked ? ' masked' : ''}`, [{ opcode: 2, fin: true, payload: payload(length), masked }]]);
  }
  SHAPES.push([
    `fragmented with interleaved ping${masked ? ' masked' : ''}`,
    [
      { opcode: 1, fin: false, payload: payload(10), masked },
      { opcode: 9, fin: true, payload: payload(5), masked },
      { opcode: 0, fin: false, payload: payload(300), masked },
      { opcode: 0, fin: true, payload: payload(0), masked },
    ],
  ]);
  SHAPES.push([`ping 125 B and pong 0 B${masked ? ' masked' : ''}`, [{ opcode: 9, fin: true, payload: payload(125), masked }, { opcode: 10, fin: true, payload: payload(0), masked }]]);
  SHAPES.push([`close with code and reason${masked ? ' masked' : ''}`, [{ opcode: 8, fin: true, payload: closePayload(4321, 'see you'), masked }]]);
  SHAPES.push([`close without code${masked ? ' masked' : ''}`, [{ opcode: 8, fin: true, payload: Buffer.alloc(0), masked }]]);
}

describe('FrameScanner', () => {
  it.each(SHAPES)('%s: same counts when split at every byte boundary', (_name, specs) => {
    const { bytes, expected } = buildStream(specs);
    const masked = specs[0]!.masked;
    expectCounts(scanChunks(new FrameScanner(masked), [bytes]), expected);
    // One summary per split, compared as text: expect() per split would dominate the run time.
    const want = summary(expected);
    const wrong: number[] = [];
    for (let split = 1; split < bytes.length; split++) {
      const observed = scanChunks(new FrameScanner(masked), [bytes.subarray(0, split), bytes.subarray(split)]);
      if (summary(observed) !== want) wrong.push(split);
    }
    expect(wrong).toEqual([]);
  });

  it('stops exactly at every message end and every frame end when asked', () => {
    const random = seededRandom(7);
    const { bytes, expected } = buildStream(randomSpecs(2000, true, random));
    const byMessage = new FrameScanner(true);
    byMessage.wantBoundary = Boundary.Message;
    const messageStops = scanChunks(byMessage, randomChunks(bytes, random, 3000));
    expect(messageStops.stops).toEqual(expected.messageEnds);

    const byFrame = new FrameScanner(true);
    byFrame.wantBoundary = Boundary.Frame;
    const frameStops = scanChunks(byFrame, randomChunks(bytes, random, 3000));
    // Control frames stop as ControlEnd, data frames as Boundary: together, every frame end.
    const dataFrameEnds = expected.frameEnds.filter((end) => !messageStops.stops.includes(end) || expected.messageEnds.includes(end));
    expect(frameStops.stops.length + frameStops.controlFrames).toBe(expected.frameEnds.length);
    expect(frameStops.stops.every((stop) => dataFrameEnds.includes(stop))).toBe(true);
  });

  it('agrees with the reference on 10^5 random frames in random chunkings', () => {
    for (const masked of [true, false]) {
      const random = seededRandom(masked ? 1 : 2);
      const { bytes, expected } = buildStream(randomSpecs(100_000, masked, random));
      for (const maxChunk of [7, 1500, 65536]) {
        expectCounts(scanChunks(new FrameScanner(masked), randomChunks(bytes, random, maxChunk)), expected);
      }
    }
  });

  it('reports its position between frames and between messages', () => {
    const scanner = new FrameScanner(false);
    expect(scanner.atMessageBoundary).toBe(true);
    const first = encodeFrame({ opcode: 1, fin: false, payload: payload(10), masked: false });
    scanner.scan(first.subarray(0, 5), 0);
    expect(scanner.atFrameBoundary).toBe(false);
    scanner.scan(first.subarray(5), 0);
    expect(scanner.atFrameBoundary).toBe(true);
    expect(scanner.atMessageBoundary).toBe(false);
    scanner.scan(encodeFrame({ opcode: 0, fin: true, payload: payload(3), masked: false }), 0);
    expect(scanner.atMessageBoundary).toBe(true);
  });

  it('stops before a control frame when asked, so it can be cut out', () => {
    const ping = encodeFrame({ opcode: 10, fin: true, payload: payload(4), masked: true });
    const text = encodeFrame({ opcode: 1, fin: true, payload: payload(20), masked: true });
    const stream = Buffer.concat([text, ping, text]);
    const scanner = new FrameScanner(true);
    scanner.stopBeforeControl = true;
    expect(scanner.scan(stream, 0)).toBe(text.length);
    expect(scanner.event).toBe(ScanEvent.ControlStart);
    expect(scanner.lastOpcode).toBe(10);
    expect(scanner.scan(stream, text.length)).toBe(text.length + ping.length);
    expect(scanner.event).toBe(ScanEvent.ControlEnd);
    expect(scanner.scan(stream, text.length + ping.length)).toBe(stream.length);
    expect(scanner.messages).toBe(2);
  });

  // [name, bytes, masked, code, header bytes needed to see the problem (1: the first byte)]
  const garbage: Array<[string, Buffer, boolean, string, number]> = [
    ['reserved opcode 3', Buffer.from([0x83, 0x00]), false, 'WS_SIDECAR_FRAME_RESERVED_OPCODE', 1],
    ['reserved opcode 0xB', Buffer.from([0x8b, 0x00]), false, 'WS_SIDECAR_FRAME_RESERVED_OPCODE', 1],
    ['64-bit length with the top bit set', Buffer.from([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1]), false, 'WS_SIDECAR_FRAME_TOO_LONG', 10],
    ['control frame over 125 B', Buffer.from([0x89, 0x7e, 0x00, 0x7e]), false, 'WS_SIDECAR_FRAME_CONTROL_TOO_LONG', 4],
    ['fragmented control frame', Buffer.from([0x09, 0x00]), false, 'WS_SIDECAR_FRAME_FRAGMENTED_CONTROL', 1],
    ['continuation without a message', Buffer.from([0x80, 0x00]), false, 'WS_SIDECAR_FRAME_UNEXPECTED_CONTINUATION', 1],
    ['unmasked frame from a client', Buffer.from([0x81, 0x00]), true, 'WS_SIDECAR_FRAME_MASK', 2],
    ['masked frame from a server', Buffer.from([0x81, 0x80, 1, 2, 3, 4]), false, 'WS_SIDECAR_FRAME_MASK', 6],
    ['close with a 1-byte payload', Buffer.from([0x88, 0x01, 0x03]), false, 'WS_SIDECAR_FRAME_BAD_CLOSE', 2],
  ];

  it.each(garbage)('rejects %s, whatever the split', (_name, bad, masked, code, needed) => {
    const good = encodeFrame({ opcode: 2, fin: true, payload: payload(30), masked });
    const stream = Buffer.concat([good, bad]);
    for (let split = 1; split <= stream.length; split++) {
      const scanner = new FrameScanner(masked);
      const observed = scanChunks(scanner, [stream.subarray(0, split), stream.subarray(split)]);
      expect(observed.error).toBe(code);
      expect(observed.messages).toBe(1);
      // A close can be injected cleanly only when no byte of the bad frame was passed on before the problem showed.
      const headerSplit = split > good.length && split < good.length + needed;
      expect(scanner.error!.atFrameStart).toBe(!headerSplit);
    }
  });

  it('rejects a new message inside a fragmented one', () => {
    const stream = Buffer.concat([
      encodeFrame({ opcode: 1, fin: false, payload: payload(3), masked: false }),
      encodeFrame({ opcode: 2, fin: true, payload: payload(3), masked: false }),
    ]);
    expect(scanChunks(new FrameScanner(false), [stream]).error).toBe('WS_SIDECAR_FRAME_INTERLEAVED_MESSAGE');
  });

  it('property: any valid stream in any chunking gives the reference counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 50 }), (seed, count, masked, sizes) => {
        const { bytes, expected } = buildStream(randomSpecs(count, masked, seededRandom(seed)));
        const chunks: Buffer[] = [];
        for (let pos = 0, i = 0; pos < bytes.length; i++) {
          const size = sizes[i % sizes.length]!;
          chunks.push(bytes.subarray(pos, pos + size));
          pos += size;
        }
        expectCounts(scanChunks(new FrameScanner(masked), chunks), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('property: arbitrary bytes never make it throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.integer({ min: 1, max: 300 }), (bytes, masked, cut) => {
        const buf = Buffer.from(bytes);
        const scanner = new FrameScanner(masked);
        const observed = scanChunks(scanner, [buf.subarray(0, cut), buf.subarray(cut)]);
        // Either it is a valid prefix (no error), or the error is one of the catalogued codes.
        if (observed.error !== undefined) expect(observed.error).toMatch(/^WS_SIDECAR_FRAME_[A-Z_]+$/);
        expect(scanner.payloadBytes).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});
