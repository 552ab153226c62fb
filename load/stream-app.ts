// The slow-readers scenario's app in its own process (its CPU and memory are its
// own): test/helpers/stream-app.ts, announcing its port on stdout.
import { startStreamApp } from '../test/helpers/stream-app.js';

const app = await startStreamApp();
process.stdout.write(JSON.stringify({ port: app.port }) + '\n');
