/**
 * The QoS 1 messages of one connection that are received but not yet acknowledged,
 * in receive order. MQTT asks for acknowledgements in that order, while commits may
 * finish out of it; a message marked committed is acknowledged once every message
 * received before it is committed too.
 *
 * The order is kept in an array read from `head`, compacted now and then, so that
 * marking a batch committed costs time in proportion to the batch, not the window.
 */
export class AckWindow {
  private order: number[] = [];
  private head = 0;
  private readonly committed = new Set<number>();

  constructor(
    /** The connection the packet ids belong to; they mean nothing on another. */
    readonly connection: number,
  ) {}

  /** Messages received and not yet released for acknowledgement. */
  get size(): number {
    return this.order.length - this.head;
  }

  /** Notes a received QoS 1 message by its packet id. */
  received(messageId: number): void {
    this.order.push(messageId);
  }

  /** Marks a message committed. */
  commit(messageId: number): void {
    this.committed.add(messageId);
  }

  /**
   * Takes the packet ids now free to acknowledge: the longest committed prefix of the
   * window, in receive order.
   */
  release(): number[] {
    const out: number[] = [];
    while (
      this.head < this.order.length &&
      this.committed.delete(this.order[this.head]!)
    ) {
      out.push(this.order[this.head]!);
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
