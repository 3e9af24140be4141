import { transaction, type Pool } from '../db/pool.js';
import { parseMapping, type Mapping } from './mapping.js';
import { MappingError } from './mappingError.js';
import { filtersOverlap } from './topicPattern.js';

/** A mapping as stored, as the API shows it. */
export interface StoredMapping {
  name: string;
  definition: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
}

export interface MappingChange {
  id: string;
  at: Date;
  by: string;
  mapping: string;
  old: Record<string, unknown> | null;
  new: Record<string, unknown> | null;
  comment: string | null;
}

const COLUMNS = 'name, definition, created_at, updated_at, updated_by';

export async function listMappings(pool: Pool): Promise<StoredMapping[]> {
  const { rows } = await pool.query<StoredMapping>(
    `select ${COLUMNS} from mapping order by name`,
  );
  return rows;
}

export async function getMapping(
  pool: Pool,
  name: string,
): Promise<StoredMapping | undefined> {
  const { rows } = await pool.query<StoredMapping>(
    `select ${COLUMNS} from mapping where name = $1`,
    [name],
  );
  return rows[0];
}

/**
 * Creates or replaces a mapping, with its change record, in one transaction. Refuses
 * (MappingError) a topic that overlaps another mapping's: a message would not know
 * which one reads it. Writes are serialised so that two at once cannot both pass.
 */
export async function putMapping(
  pool: Pool,
  mapping: Mapping,
  by: string,
  comment: string | null,
): Promise<{ stored: StoredMapping; created: boolean }> {
  return transaction(pool, async (c) => {
    await c.query('lock table mapping in share row exclusive mode');
    const { rows: others } = await c.query<StoredMapping>(
      `select ${COLUMNS} from mapping where name <> $1`,
      [mapping.name],
    );
    for (const other of others) {
      const filter = topicFilterOf(other);
      if (filter !== undefined && filtersOverlap(filter, mapping.topic.filter)) {
        throw new MappingError(
          `topic ${mapping.topic.pattern} overlaps mapping ${other.name} (${filter}); a message must have one mapping`,
        );
      }
    }
    const { rows: old } = await c.query<{ definition: Record<string, unknown> }>(
      'select definition from mapping where name = $1',
      [mapping.name],
    );
    const { rows } = await c.query<StoredMapping>(
      `insert into mapping (name, definition, updated_by) values ($1, $2, $3)
       on conflict (name) do update set definition = excluded.definition,
         updated_at = now(), updated_by = excluded.updated_by
       returning ${COLUMNS}`,
      [mapping.name, mapping.definition, by],
    );
    await c.query(
      `insert into mapping_change (by, mapping, old, new, comment) values ($1, $2, $3, $4, $5)`,
      [by, mapping.name, old[0]?.definition ?? null, mapping.definition, comment],
    );
    return { stored: rows[0]!, created: old.length === 0 };
  });
}

/** Deletes a mapping, recording who did; false when there was none of that name. */
export async function deleteMapping(
  pool: Pool,
  name: string,
  by: string,
  comment: string | null,
): Promise<boolean> {
  return transaction(pool, async (c) => {
    const { rows } = await c.query<{ definition: Record<string, unknown> }>(
      'delete from mapping where name = $1 returning definition',
      [name],
    );
    if (rows.length === 0) return false;
    await c.query(
      `insert into mapping_change (by, mapping, old, new, comment) values ($1, $2, $3, null, $4)`,
      [by, name, rows[0]!.definition, comment],
    );
    return true;
  });
}

export async function listMappingChanges(
  pool: Pool,
  name: string,
): Promise<MappingChange[]> {
  const { rows } = await pool.query<MappingChange>(
    `select id::text, at, by, mapping, old, new, comment from mapping_change
      where mapping = $1 order by at, id`,
    [name],
  );
  return rows;
}

/** The stored mapping compiled, or why it no longer compiles (edited by hand). */
export function compileStored(m: StoredMapping): Mapping | MappingError {
  try {
    return parseMapping(m.name, m.definition);
  } catch (err) {
    if (err instanceof MappingError) return err;
    throw err;
  }
}

function topicFilterOf(m: StoredMapping): string | undefined {
  const compiled = compileStored(m);
  return compiled instanceof MappingError ? undefined : compiled.topic.filter;
}
