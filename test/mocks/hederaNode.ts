/**
 * A Hedera consensus node on 127.0.0.1, port 0, speaking gRPC with the protocol
 * definitions the SDK ships: ConsensusService `submitMessage` and `createTopic`,
 * CryptoService `getTransactionReceipts`, `getTxRecordByTxID` and `getAccountInfo`.
 * It checks each transaction as a node's precheck does (node account, expiry,
 * duplicate id, payer signature, topic), orders accepted messages in a
 * MockLedgerState, and can be told to answer chosen precheck codes first (BUSY …),
 * or to hold receipts back, or to forget them as the network does after 3 minutes.
 */
import * as grpc from '@grpc/grpc-js';
import { proto } from '@hiero-ledger/proto';
import Long from 'long';
import type { PublicKey } from '@hiero-ledger/sdk';
import type { MockLedgerState, MockTransactionResult } from './hederaLedger.js';
import { checkTransaction, type CheckedTransaction, idOf } from './hederaPrecheck.js';

type Code = keyof typeof proto.ResponseCodeEnum;
type Unary = (
  call: grpc.ServerUnaryCall<Buffer, Buffer>,
  cb: grpc.sendUnaryData<Buffer>,
) => void;

export const NODE_ACCOUNT_ID = '0.0.3';

/** The calls whose answer a test may hold back (see `onNext`). */
export type NodeMethod = 'submitMessage' | 'getTransactionReceipts' | 'getTxRecordByTxID';
/** Told the transaction id the call was about (the one ordered, for a submission). */
type AnswerHook = (transactionId: string | undefined) => Promise<void>;

export class HederaNodeMock {
  /** Every transaction received by submitMessage, as the bytes that arrived. */
  readonly received: Buffer[] = [];
  /** Every precheck code answered to submitMessage, in order. */
  readonly answered: Code[] = [];
  private scripted: Code[] = [];
  private always: Code | undefined;
  private receiptsHeld = false;
  private receiptsForgotten = false;
  private readonly beforeAnswer = new Map<NodeMethod, AnswerHook>();

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    readonly ledger: MockLedgerState,
  ) {}

  static async start(ledger: MockLedgerState): Promise<HederaNodeMock> {
    const server = new grpc.Server();
    const box: { mock?: HederaNodeMock } = {};
    const bind =
      (f: (m: HederaNodeMock) => Unary): Unary =>
      (call, cb) =>
        f(box.mock!)(call, cb);
    server.addService(service('ConsensusService', ['submitMessage', 'createTopic']), {
      submitMessage: bind((m) => m.onTransaction.bind(m)),
      createTopic: bind((m) => m.onTransaction.bind(m)),
    });
    server.addService(
      service('CryptoService', [
        'getTransactionReceipts',
        'getTxRecordByTxID',
        'getAccountInfo',
      ]),
      {
        getTransactionReceipts: bind((m) => m.onReceipt.bind(m)),
        getTxRecordByTxID: bind((m) => m.onRecord.bind(m)),
        getAccountInfo: bind((m) => m.onAccountInfo.bind(m)),
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createInsecure(),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    box.mock = new HederaNodeMock(server, port, ledger);
    return box.mock;
  }

  /** `127.0.0.1:{port}`, the key of the SDK's custom network. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next submissions get these precheck codes, one each, before normal handling. */
  answerNext(...codes: Code[]): void {
    this.scripted.push(...codes);
  }

  /** Every submission gets this precheck code until called with undefined. */
  answerAlways(code: Code | undefined): void {
    this.always = code;
  }

  /** Receipts answer UNKNOWN (not yet reached consensus) while held. */
  holdReceipts(held: boolean): void {
    this.receiptsHeld = held;
  }

  /** Receipts answer RECEIPT_NOT_FOUND, as after the network's 3-minute window. */
  forgetReceipts(): void {
    this.receiptsForgotten = true;
  }

  /**
   * Runs `fn` once, when the next `method` call has been handled (a submitted message
   * is ordered by then) and before it is answered.
   */
  onNext(method: NodeMethod, fn: AnswerHook): void {
    this.beforeAnswer.set(method, fn);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.tryShutdown(() => resolve());
      setTimeout(() => this.server.forceShutdown(), 1_000).unref();
    });
  }

  private onTransaction(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    cb: grpc.sendUnaryData<Buffer>,
  ) {
    this.received.push(call.request);
    const code = this.precheck(call.request);
    this.answered.push(code);
    const answer = Buffer.from(
      proto.TransactionResponse.encode({
        nodeTransactionPrecheckCode: proto.ResponseCodeEnum[code],
      }).finish(),
    );
    const ordered =
      code === 'OK' ? [...this.ledger.transactions.keys()].at(-1) : undefined;
    this.answer('submitMessage', cb, answer, ordered);
  }

  /** Sends `bytes`, after the test's hook for `method` when one is set. */
  private answer(
    method: NodeMethod,
    cb: grpc.sendUnaryData<Buffer>,
    bytes: Buffer,
    transactionId: string | undefined,
  ) {
    const hook = this.beforeAnswer.get(method);
    this.beforeAnswer.delete(method);
    if (!hook) return cb(null, bytes);
    hook(transactionId).then(
      () => cb(null, bytes),
      (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message }),
    );
  }

  private precheck(bytes: Buffer): Code {
    if (this.always) return this.always;
    const scripted = this.scripted.shift();
    if (scripted) return scripted;
    const checked = checkTransaction(bytes, NODE_ACCOUNT_ID, this.ledger);
    if (typeof checked === 'string') return checked;
    return this.execute(checked);
  }

  private execute(tx: CheckedTransaction): Code {
    if (this.ledger.transactions.has(tx.transactionId)) return 'DUPLICATE_TRANSACTION';
    const body = tx.body;
    if (body.consensusSubmitMessage) {
      const topicId = idOf(body.consensusSubmitMessage.topicID, 'topicNum');
      if (!this.ledger.hasTopic(topicId)) return 'INVALID_TOPIC_ID';
      const message = Buffer.from(body.consensusSubmitMessage.message ?? []);
      this.ledger.submit(topicId, tx.payer, tx.transactionId, message);
      return 'OK';
    }
    if (body.consensusCreateTopic) {
      this.ledger.createTopic(tx.transactionId);
      return 'OK';
    }
    return 'NOT_SUPPORTED';
  }

  private onReceipt(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    cb: grpc.sendUnaryData<Buffer>,
  ) {
    const query = proto.Query.decode(call.request).transactionGetReceipt;
    const txId = query?.transactionID ? transactionIdOf(query.transactionID) : '';
    const found = this.ledger.transactions.get(txId);
    const header = (code: Code) => ({
      nodeTransactionPrecheckCode: proto.ResponseCodeEnum[code],
    });
    let answer: proto.ITransactionGetReceiptResponse;
    if (!found || this.receiptsForgotten) {
      answer = { header: header('RECEIPT_NOT_FOUND') };
    } else if (this.receiptsHeld) {
      answer = {
        header: header('OK'),
        receipt: { status: proto.ResponseCodeEnum.UNKNOWN },
      };
    } else {
      answer = { header: header('OK'), receipt: receiptOf(found) };
    }
    this.answer(
      'getTransactionReceipts',
      cb,
      encodeResponse({ transactionGetReceipt: answer }),
      txId,
    );
  }

  private onRecord(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    cb: grpc.sendUnaryData<Buffer>,
  ) {
    const query = proto.Query.decode(call.request).transactionGetRecord;
    const responseType = query?.header?.responseType ?? proto.ResponseType.ANSWER_ONLY;
    const txId = query?.transactionID ? transactionIdOf(query.transactionID) : '';
    const found = this.receiptsForgotten ? undefined : this.ledger.transactions.get(txId);
    const header = {
      nodeTransactionPrecheckCode:
        proto.ResponseCodeEnum[found ? 'OK' : 'RECORD_NOT_FOUND'],
      responseType,
      cost: Long.fromNumber(100),
    };
    const transactionRecord = found && {
      receipt: receiptOf(found),
      consensusTimestamp: {
        seconds: Long.fromString(found.consensusTime.seconds.toString()),
        nanos: found.consensusTime.nanos,
      },
      transactionID: query?.transactionID,
    };
    this.answer(
      'getTxRecordByTxID',
      cb,
      encodeResponse({ transactionGetRecord: { header, transactionRecord } }),
      txId,
    );
  }

  private onAccountInfo(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    cb: grpc.sendUnaryData<Buffer>,
  ) {
    const query = proto.Query.decode(call.request).cryptoGetInfo;
    const responseType = query?.header?.responseType ?? proto.ResponseType.ANSWER_ONLY;
    const accountId = idOf(query?.accountID, 'accountNum');
    const key = this.ledger.accounts.get(accountId);
    const header = {
      nodeTransactionPrecheckCode:
        proto.ResponseCodeEnum[key ? 'OK' : 'INVALID_ACCOUNT_ID'],
      responseType,
      cost: Long.fromNumber(100),
    };
    const accountInfo = key && {
      accountID: query?.accountID,
      key: keyProto(key),
      balance: Long.fromNumber(100_000_000_000),
      expirationTime: { seconds: Long.fromNumber(4_102_444_800), nanos: 0 },
      autoRenewPeriod: { seconds: Long.fromNumber(7_776_000) },
    };
    cb(null, encodeResponse({ cryptoGetInfo: { header, accountInfo } }));
  }
}

function receiptOf(found: MockTransactionResult): proto.ITransactionReceipt {
  const [shard, realm, num] = found.entityId.split('.').map(Number);
  const receipt: proto.ITransactionReceipt = { status: proto.ResponseCodeEnum.SUCCESS };
  if (found.message) {
    receipt.topicSequenceNumber = Long.fromString(
      found.message.sequenceNumber.toString(),
    );
    receipt.topicRunningHash = found.message.runningHash;
    receipt.topicRunningHashVersion = Long.fromNumber(3);
  } else {
    receipt.topicID = {
      shardNum: Long.fromNumber(shard ?? 0),
      realmNum: Long.fromNumber(realm ?? 0),
      topicNum: Long.fromNumber(num ?? 0),
    };
  }
  return receipt;
}

/** `0.0.1001@1700000000.000000123`, as the SDK prints a transaction id. */
export function transactionIdOf(id: proto.ITransactionID): string {
  const start = id.transactionValidStart;
  const nanos = String(start?.nanos ?? 0).padStart(9, '0');
  return `${idOf(id.accountID, 'accountNum')}@${String(start?.seconds ?? 0)}.${nanos}`;
}

function keyProto(key: PublicKey): proto.IKey {
  const raw = key.toBytesRaw();
  return key.type === 'ED25519' ? { ed25519: raw } : { ECDSASecp256k1: raw };
}

function encodeResponse(response: proto.IResponse): Buffer {
  return Buffer.from(proto.Response.encode(response).finish());
}

/** A unary gRPC service of `proto.{name}` carrying raw bytes both ways. */
function service(name: string, methods: string[]): grpc.ServiceDefinition {
  return Object.fromEntries(
    methods.map((method) => [
      method,
      {
        path: `/proto.${name}/${method}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    ]),
  );
}
