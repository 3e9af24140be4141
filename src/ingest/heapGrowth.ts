import v8 from 'node:v8';

/**
 * How far V8 lets the heap grow past what survived the last full collection, in
 * percent. Ingest allocates fast (about 16 kB a message, decoded, batched, written)
 * and keeps little (the messages in hand): with V8's own factor of up to 4 the heap
 * of an ingest process swells to four times its live size before collecting, about
 * 380 MB resident in a burst of a million readings; at 100 (twice the live size) it
 * stays near 270 MB for the same CPU (bench/, `--node-flags` to compare). In `serve`,
 * where the rule engine and the anchor worker allocate beside ingest, 200 devices
 * flushing 400,000 readings peaked at 290–330 MB at 100 and 250–290 MB at 50, with
 * about 23 CPU seconds either way (the fault suite's scenario 7; its live heap was
 * under 50 MB).
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Sets the heap growth of this process for ingest. V8 reads the setting at every
 * full collection, so setting it after start takes effect (unlike a heap size limit).
 * A `--heap-growing-percent` given on the command line wins.
 */
export function limitHeapGrowth(): void {
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
