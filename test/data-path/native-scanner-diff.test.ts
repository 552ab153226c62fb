// Differential fuzz: the native scanner (native/src/frame-scanner.cc) against
// the reference, frame-scanner.ts. The same random streams — over a million
// frames, each stream fed byte by byte (every split), whole and cut at random —
// must give identical stops, counters, boundaries and errors.
import { describe, expect, it } from 'vitest';
import { Boundary } from '../../proxy/protocol/frame-scanner.js';
import { chunkEnds, Random, randomFrameStream } from '../helpers/random-frames.js';
import { firstDifference, nativeErrorText, rowsAround, tsScanTrace } from '../helpers/scanner-trace.js';
import { nativeAddonForTests } from '../helpers/native.js';

const FRAMES = Number(process.env.WS_SIDECAR_FUZZ_FRAMES ?? 1_000_000);
const addon = nativeAddonForTests();

describe.skipIf(!addon)('native frame scanner, differential against frame-scanner.ts', () => {
  it(`gives the same events for ${FRAMES.toLocaleString('en')} random frames, every split`, { timeout: 600_000 }, () => {
    const random = new Random(0x5eed_17);
    let frames = 0;
    let streams = 0;
    let withErrors = 0;
    while (frames < FRAMES) {
      const masked = random.chance(0.5);
      const stream = randomFrameStream(random, masked, 4 + random.below(16), random.chance(0.3) ? 0.05 : 0);
      const stopBeforeControl = random.chance(0.5);
      const want = [Boundary.None, Boundary.Frame, Boundary.Message][random.below(3)]!;
      for (const how of ['bytes', 'whole', 'random'] as const) {
        const ends = chunkEnds(random, stream.bytes.length, how);
        const ts = tsScanTrace(stream.bytes, ends, masked, stopBeforeControl, want);
        const native = addon!.scanTrace(stream.bytes, ends, masked, stopBeforeControl, want);
        const differs = firstDifference(ts.rows, native);
        if (differs >= 0 || ts.errorText !== nativeErrorText(native)) {
          // Only on a mismatch: the full comparison shows the stream and the stops around the first difference.
          const at = Math.max(differs, 0);
          expect({ stream: stream.bytes.toString('hex'), how, stop: at, rows: rowsAround(native, at), error: nativeErrorText(native) }).toEqual({
            stream: stream.bytes.toString('hex'),
            how,
            stop: at,
            rows: rowsAround(ts.rows, at),
            error: ts.errorText,
          });
        }
        if (how === 'whole' && ts.errorText !== '') withErrors++;
      }
      frames += stream.frames;
      streams++;
    }
    // The generator must reach both the garbage paths and clean streams.
    expect(withErrors).toBeGreaterThan(streams / 20);
    expect(withErrors).toBeLessThan(streams / 2);
  });
});
