// After a complete close handshake the sidecar lets both TCP connections go at once
// (as nginx does) instead of waiting for a peer's FIN that may never come.
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { closePayload, encodeFrame } from '../helpers/frames.js';
import { parseCloseFrame, rawUpgrade, startSilentApp } from '../helpers/raw.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

describe('close after the close handshake', () => {
  it('closes both connections once both close frames have passed, though neither peer ends its TCP side', async () => {
    const app = await startSilentApp();
    // A close timeout far beyond the test's: only the fast close can end this in time.
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--close-timeout', '60', '--drain-timeout', '120']);
    try {
      const { socket: client } = await rawUpgrade(sidecar.dataPort);
      const appSocket = app.sockets[0]!;
      let toApp = 0;
      appSocket.on('data', (chunk: Buffer) => (toApp += chunk.length));
      const closeFromClient = encodeFrame({ opcode: 8, fin: true, payload: closePayload(1000, 'bye'), masked: true });
      client.write(closeFromClient);
      while (toApp < closeFromClient.length) await once(appSocket, 'data');
      let toClient = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => (toClient = Buffer.concat([toClient, chunk])));
      const clientEnded = once(client, 'end');
      const appEnded = once(appSocket, 'end');
      // The app answers the close frame; neither it nor the client ends its TCP connection.
      appSocket.write(encodeFrame({ opcode: 8, fin: true, payload: closePayload(1000, 'bye'), masked: false }));
      await Promise.all([clientEnded, appEnded]);
      expect(parseCloseFrame(toClient)).toEqual({ code: 1000, reason: 'bye' });
      client.destroy();
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
