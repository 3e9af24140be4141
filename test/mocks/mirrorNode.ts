/**
 * A Hedera mirror node's REST API on 127.0.0.1 over a MockLedgerState:
 * `/api/v1/topics/{id}/messages/{sequenceNumber}`, `/api/v1/topics/messages/{timestamp}`
 * and `/api/v1/transactions/{transactionId}`, with the mirror's JSON field names,
 * base64 message and running hash, `seconds.nanos` timestamps and `0.0.1-s-n` ids.
 */
import type http from 'node:http';
import type { ConsensusTime } from '../../src/anchor/runningHash.js';
import type { MockLedgerState, MockTopicMessage } from './hederaLedger.js';
import { type MockHttpServer, sendJson, startHttpServer } from './httpServer.js';

export class MirrorNodeMock {
  requests = 0;

  private constructor(
    private readonly server: MockHttpServer,
    readonly ledger: MockLedgerState,
  ) {}

  static async start(ledger: MockLedgerState): Promise<MirrorNodeMock> {
    const box: { mock?: MirrorNodeMock } = {};
    const server = await startHttpServer((req, res) => box.mock!.handle(req, res));
    box.mock = new MirrorNodeMock(server, ledger);
    return box.mock;
  }

  get url(): URL {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests += 1;
    const path = new URL(req.url ?? '/', this.server.url).pathname;
    if (path === '/api/v1/network/supply') {
      return sendJson(res, 200, {
        released_supply: '0',
        timestamp: '0.0',
        total_supply: '0',
      });
    }
    let m = /^\/api\/v1\/topics\/(\d+\.\d+\.\d+)\/messages\/(\d+)$/.exec(path);
    if (m) {
      const hit = this.ledger
        .messages(m[1]!)
        .find((x) => x.sequenceNumber === BigInt(m![2]!));
      return hit ? sendJson(res, 200, messageJson(hit)) : notFound(res);
    }
    m = /^\/api\/v1\/topics\/messages\/(\d+)\.(\d{9})$/.exec(path);
    if (m) {
      const hit = this.ledger.messageAt({ seconds: BigInt(m[1]!), nanos: Number(m[2]!) });
      return hit ? sendJson(res, 200, messageJson(hit)) : notFound(res);
    }
    m = /^\/api\/v1\/transactions\/(\d+\.\d+\.\d+)-(\d+)-(\d{9})$/.exec(path);
    if (m) return this.transaction(`${m[1]!}@${m[2]!}.${m[3]!}`, res);
    sendJson(res, 400, {
      _status: { messages: [{ message: `unsupported path ${path}` }] },
    });
  }

  private transaction(id: string, res: http.ServerResponse): void {
    const found = this.ledger.transactions.get(id);
    if (!found) return notFound(res);
    sendJson(res, 200, {
      transactions: [
        {
          consensus_timestamp: timestamp(found.consensusTime),
          entity_id: found.entityId,
          name: found.name,
          result: found.result,
          transaction_id: id.replace('@', '-').replace(/\.(\d{9})$/, '-$1'),
          node: '0.0.3',
          charged_tx_fee: 70_000,
          scheduled: false,
          nonce: 0,
        },
      ],
      links: { next: null },
    });
  }
}

function messageJson(m: MockTopicMessage) {
  return {
    chunk_info: null,
    consensus_timestamp: timestamp(m.consensusTime),
    message: m.message.toString('base64'),
    payer_account_id: m.payer,
    running_hash: m.runningHash.toString('base64'),
    running_hash_version: 3,
    sequence_number: Number(m.sequenceNumber),
    topic_id: m.topicId,
  };
}

function timestamp(t: ConsensusTime): string {
  return `${t.seconds}.${String(t.nanos).padStart(9, '0')}`;
}

function notFound(res: http.ServerResponse): void {
  sendJson(res, 404, { _status: { messages: [{ message: 'Not found' }] } });
}
