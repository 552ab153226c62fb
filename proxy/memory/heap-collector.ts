// A full V8 collection on demand, for the budget's "shrink heap" action (Envoy's
// overload manager has one). Buffers that were queued for slow sinks are garbage
// once written, but V8 frees them only at its next major GC, which an idle process
// may not run for a long time: until then the memory counts as used, and recovery
// would wait on V8's mood. Node has no API for it without --expose-gc, which a
// running process cannot take on its command line; V8 reads the flag when a
// context is made, so a new context hands out the function.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type HeapCollector = () => void;

/** The `gc` function, or undefined where V8 does not give it (the budget then waits for V8's own GCs). */
export function heapCollector(): HeapCollector | undefined {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as HeapCollector;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as HeapCollector) : undefined;
  } catch {
    return undefined;
  }
}
