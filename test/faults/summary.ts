import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { FaultFigures } from './figures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    faultFiguresDir: string;
  }
}

function table(rows: FaultFigures[]): string {
  const head = [
    'scenario',
    'sent',
    'stored',
    'duplicates',
    'lost',
    'recovery s',
    'anchored',
    'anchored twice',
    'notes',
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.sent),
    String(r.stored),
    String(r.duplicates),
    String(r.lost),
    r.recoverySeconds == null ? '–' : r.recoverySeconds.toFixed(1),
    r.anchored == null ? '–' : String(r.anchored),
    r.anchoredTwice == null ? '–' : String(r.anchoredTwice),
    r.notes ?? '',
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'heru-faults-'));
  project.provide('faultFiguresDir', dir);
  return async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    const rows: FaultFigures[] = [];
    for (const f of files) {
      rows.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as FaultFigures);
    }
    rows.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    const text = `\nFault suite figures\n\n${table(rows)}\n`;
    process.stdout.write(text);
    const out = process.env.HERU_FAULT_FIGURES_OUT;
    if (out) await writeFile(out, text);
    await rm(dir, { recursive: true, force: true });
  };
}
