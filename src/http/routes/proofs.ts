import type { FastifyInstance } from 'fastify';
import { getBatch } from '../../anchor/batches.js';
import { batchPart, findProof } from '../../anchor/proof.js';
import type { Pool } from '../../db/pool.js';
import { ApiError } from '../errors.js';

const ID = /^\d{1,18}$/;

/**
 * `/api/v1/readings/{id}/proof`: the reading's proof once its batch is anchored
 * (PROOF_PENDING before), with `reading_unchanged` saying whether the reading as
 * stored now still gives the anchored leaf. `/api/v1/batches/{id}`: one batch.
 */
export function proofRoutes(app: FastifyInstance, pool: Pool): void {
  app.get<{ Params: { id: string } }>('/api/v1/readings/:id/proof', async (req) => {
    const id = req.params.id;
    if (!ID.test(id))
      throw new ApiError('BAD_REQUEST', 'A reading id is a whole number.');
    const found = await findProof(pool, id);
    if (found.kind === 'no-reading') {
      throw new ApiError('READING_NOT_FOUND', `No reading ${id}.`);
    }
    if (found.kind === 'pending') {
      const where = found.batchId
        ? `its batch ${found.batchId} is ${found.state}`
        : 'it waits for its batch to be sealed';
      throw new ApiError(
        'PROOF_PENDING',
        `Reading ${id} is not anchored yet (${where}); ask again in a few seconds.`,
      );
    }
    return { ...found.proof, reading_unchanged: found.unchanged };
  });

  app.get<{ Params: { id: string } }>('/api/v1/batches/:id', async (req) => {
    const id = req.params.id;
    if (!ID.test(id)) throw new ApiError('BAD_REQUEST', 'A batch id is a whole number.');
    const b = await getBatch(pool, id);
    if (!b) throw new ApiError('BATCH_NOT_FOUND', `No batch ${id}.`);
    return {
      ...batchPart(b),
      manifest_content: b.manifest_content,
      created_at: b.created_at,
      anchored_at: b.anchored_at,
      attempts: b.attempts,
      last_error: b.last_error,
    };
  });
}
