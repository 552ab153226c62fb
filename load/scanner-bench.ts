// Frame-scanner micro-benchmark (issue 3, "Performance"): ns per frame over
// realistic frame mixes, and a pump's throughput with the scanner vs a raw
// `data` → `write()` pump over real loopback sockets, in the same run.
// `npx tsx load/scanner-bench.ts [--quick]`
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { FrameScanner } from '../proxy/protocol/frame-scanner.js';
import { Pump } from '../proxy/data-path/pump.js';

interface FrameMix {
  readonly name: string;
  /** Payload sizes drawn for data messages, with weights. */
  readonly sizes: ReadonlyArray<readonly [weight: number, min: number, max: number]>;
  /** Share of messages sent as 3 fragments with a ping between them. */
  readonly fragmentedShare: number;
  /** Share of standalone ping/pong frames. */
  readonly controlShare: number;
}

const MIXES: readonly FrameMix[] = [
  { name: 'chat (small text, some pings)', sizes: [[0.9, 16, 200], [0.1, 200, 2000]], fragmentedShare: 0, controlShare: 0.05 },
  { name: 'mixed (≤ 64 KiB, fragments)', sizes: [[0.7, 16, 125], [0.25, 126, 16_384], [0.05, 16_384, 65_536]], fragmentedShare: 0.02, controlShare: 0.02 },
  { name: 'bulk (16 KiB – 1 MiB)', sizes: [[0.8, 16_384, 65_536], [0.2, 65_536, 1_048_576]], fragmentedShare: 0.05, controlShare: 0.01 },
];

/** A deterministic generator, so runs compare the same bytes. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state / 0x80000000;
  };
}

function frameHeader(opcode: number, fin: boolean, length: number, masked: boolean): Buffer {
  const extra = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + extra + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (masked ? 0x80 : 0) | (extra === 0 ? length : extra === 2 ? 126 : 127);
  if (extra === 2) header.writeUInt16BE(length, 2);
  if (extra === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (masked) header.writeUInt32BE(0x12345678, 2 + extra);
  return header;
}

/** About `targetBytes` of frames of the mix (payload bytes are zeros: the scanner never reads them). */
export function buildStream(mix: FrameMix, masked: boolean, targetBytes: number): { bytes: Buffer; frames: number } {
  const next = random(42);
  const parts: Buffer[] = [];
  let bytes = 0;
  let frames = 0;
  const push = (opcode: number, fin: boolean, length: number): void => {
    parts.push(frameHeader(opcode, fin, length, masked), Buffer.alloc(length));
    bytes += length;
    frames++;
  };
  while (bytes < targetBytes) {
    if (next() < mix.controlShare) {
      push(next() < 0.5 ? 0x9 : 0xa, true, 4);
      continue;
    }
    let pick = next();
    const [, min, max] = mix.sizes.find(([weight]) => (pick -= weight) < 0) ?? mix.sizes[0]!;
    const length = Math.floor(min + next() * (max - min));
    if (next() < mix.fragmentedShare && length >= 3) {
      const third = Math.floor(length / 3);
      push(0x1, false, third);
      push(0x9, true, 0);
      push(0x0, false, third);
      push(0x0, true, length - 2 * third);
    } else {
      push(next() < 0.5 ? 0x1 : 0x2, true, length);
    }
  }
  return { bytes: Buffer.concat(parts), frames };
}

/** Cuts the stream into read-sized chunks, the way a socket delivers it. */
function chunk(stream: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, Math.min(stream.length, at + size)));
  return chunks;
}

export function nsPerFrame(mix: FrameMix, masked: boolean, budgetMs: number): { nsPerFrame: number; gigabytesPerSecond: number } {
  const { bytes, frames } = buildStream(mix, masked, 4 * 1024 * 1024);
  const chunks = chunk(bytes, 65_536);
  let rounds = 0;
  // CPU time, not wall time: other processes share this machine's cores.
  const startedAt = process.cpuUsage();
  let elapsedNs = 0;
  while (elapsedNs < budgetMs * 1e6) {
    const scanner = new FrameScanner(masked);
    for (const piece of chunks) {
      let pos = 0;
      while (pos < piece.length) pos = scanner.scan(piece, pos);
    }
    if (scanner.error) throw new Error(`scanner rejected the ${mix.name} stream: ${scanner.error.message}`);
    rounds++;
    const used = process.cpuUsage(startedAt);
    elapsedNs = (used.user + used.system) * 1000;
  }
  return { nsPerFrame: elapsedNs / (rounds * frames), gigabytesPerSecond: (rounds * bytes.length) / elapsedNs };
}

// Not annotated: an owner that ignores everything fits every version of PumpOwner.
const IGNORING_OWNER = { onCloseFrame: () => undefined, onProtocolError: () => undefined, onActivity: () => undefined, onSidecarPong: () => undefined };

async function socketPair(server: Server): Promise<[Socket, Socket]> {
  const accepted = once(server, 'connection');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [serverSide] = (await accepted) as [Socket];
  return [client, serverSide];
}

interface PumpFigures {
  readonly megabytesPerSecond: number;
  /** CPU of the whole process (writer, pump, reader and their sockets) per MB pumped. */
  readonly cpuMsPerMegabyte: number;
}

/** writer → source ⇒ (pump) ⇒ sink → reader over loopback, for `durationMs`. */
async function pumpThroughput(stream: Buffer, withScanner: boolean, durationMs: number): Promise<PumpFigures> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const [writer, source] = await socketPair(server);
  const [sink, reader] = await socketPair(server);
  if (withScanner) {
    new Pump(source, sink, true, IGNORING_OWNER);
  } else {
    source.on('data', (piece: Buffer) => {
      if (!sink.write(piece)) source.pause();
    });
    sink.on('drain', () => source.resume());
  }
  let received = 0;
  reader.on('data', (piece: Buffer) => (received += piece.length));
  let writing = true;
  const write = (): void => {
    while (writing && writer.write(stream));
  };
  writer.on('drain', write);
  write();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const receivedBefore = received;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  const cpu = process.cpuUsage(cpuBefore);
  const megabytes = (received - receivedBefore) / 1e6;
  const figures = { megabytesPerSecond: megabytes / ((performance.now() - startedAt) / 1000), cpuMsPerMegabyte: (cpu.user + cpu.system) / 1000 / megabytes };
  writing = false;
  for (const socket of [writer, source, sink, reader]) socket.destroy();
  server.close();
  return figures;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function runScannerBench(quick: boolean): Promise<string> {
  const budgetMs = quick ? 100 : 1000;
  const lines = [
    '| frame mix | direction | CPU ns / frame | GB scanned per CPU-s | pump MB/s raw / scanner | pump CPU ms per MB raw / scanner | scanner cost (CPU) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const mix of MIXES) {
    const { bytes } = buildStream(mix, true, 8 * 1024 * 1024);
    // Alternate raw and scanner runs so drift in machine load hits both alike.
    const raw: PumpFigures[] = [];
    const scanned: PumpFigures[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      raw.push(await pumpThroughput(bytes, false, quick ? 300 : 1500));
      scanned.push(await pumpThroughput(bytes, true, quick ? 300 : 1500));
    }
    const rawMbs = median(raw.map((f) => f.megabytesPerSecond));
    const scannedMbs = median(scanned.map((f) => f.megabytesPerSecond));
    const rawCpu = median(raw.map((f) => f.cpuMsPerMegabyte));
    const scannedCpu = median(scanned.map((f) => f.cpuMsPerMegabyte));
    for (const masked of [true, false]) {
      const scan = nsPerFrame(mix, masked, budgetMs);
      const pumpCells = masked
        ? `${rawMbs.toFixed(0)} / ${scannedMbs.toFixed(0)} | ${rawCpu.toFixed(2)} / ${scannedCpu.toFixed(2)} | ${(((scannedCpu - rawCpu) / rawCpu) * 100).toFixed(1)} %`
        : '| |';
      lines.push(`| ${mix.name} | ${masked ? 'client → app (masked)' : 'app → client'} | ${scan.nsPerFrame.toFixed(1)} | ${scan.gigabytesPerSecond.toFixed(2)} | ${pumpCells} |`);
    }
  }
  return lines.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  process.stdout.write(`## frame scanner (${values.quick ? 'quick' : 'full'}), Node ${process.version}\n\n` + (await runScannerBench(values.quick)));
}
