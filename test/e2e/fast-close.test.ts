// After a complete close handshake the sidecar lets the app's TCP connection go at once
// (as nginx does) and ends the client's, instead of waiting for a peer's FIN first.
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { closePayload, encodeFrame } from '../helpers/frames.js';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { parseCloseFrame, rawUpgrade, startSilentApp } from '../helpers/raw.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

describe('close after the close handshake', () => {
  it('ends both connections once both close frames have passed, though neither peer ends its TCP side; the client\'s FIN ends the tunnel', async () => {
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
      // Our FIN was the client's cue: its own ends the tunnel, long before the close timeout.
      const clientClosed = once(client, 'close');
      client.end();
      await clientClosed;
      for (;;) {
        const active = sample(parseExposition(await scrape(sidecar.adminPort)), 'ws_sidecar_connections_active');
        if (active === 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
