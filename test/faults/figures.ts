import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';

/** One line of the fault suite's closing table. */
export interface FaultFigures {
  /** Scenario number and short name, e.g. "1 ingest SIGKILL". */
  scenario: string;
  /** Messages (or readings) the broker accepted from the publishers. */
  sent: number;
  /** Distinct readings found in PostgreSQL at the end. */
  stored: number;
  /** Readings stored more than once (must be 0). */
  duplicates: number;
  /** Readings accepted by the broker but missing at the end (must be 0). */
  lost: number;
  /** Seconds from the end of the fault to the pipeline being whole again, if measured. */
  recoverySeconds?: number | null;
  /** Batches anchored, and batches anchored more than once, where the scenario anchors. */
  anchored?: number;
  anchoredTwice?: number;
  /** Anything else worth a column: peak memory, alarms raised, retries seen. */
  notes?: string;
}

/** Records one scenario's figures; the suite prints them together at the end. */
export async function recordFigures(row: FaultFigures): Promise<void> {
  const dir = inject('faultFiguresDir');
  await mkdir(dir, { recursive: true });
  const name = row.scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  await writeFile(join(dir, `${name}.json`), JSON.stringify(row));
}
