import { describe, expect, it } from 'vitest';
import { AckWindow } from '../src/mqtt/ackWindow.js';
import { pubacks } from '../src/mqtt/packets.js';

describe('the acknowledgement window of one connection', () => {
  it('releases nothing while the oldest message is not committed', () => {
    const w = new AckWindow(1);
    for (const id of [7, 8, 9]) w.received(id);
    w.commit(8);
    w.commit(9);
    expect(w.release()).toEqual([]);
    expect(w.size).toBe(3);
  });

  it('releases the committed prefix in receive order, whatever the commit order', () => {
    const w = new AckWindow(1);
    for (const id of [7, 8, 9, 10]) w.received(id);
    w.commit(9);
    w.commit(7);
    expect(w.release()).toEqual([7]);
    w.commit(8);
    expect(w.release()).toEqual([8, 9]);
    expect(w.size).toBe(1);
  });

  it('reuses a packet id once it is released, as the broker may', () => {
    const w = new AckWindow(1);
    w.received(1);
    w.commit(1);
    expect(w.release()).toEqual([1]);
    w.received(1);
    expect(w.release()).toEqual([]);
    w.commit(1);
    expect(w.release()).toEqual([1]);
  });

  it('keeps its order across compaction of a long window', () => {
    const w = new AckWindow(1);
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 65535) + 1);
    for (const id of ids) w.received(id);
    const released: number[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      for (const id of ids.slice(i, i + 500)) w.commit(id);
      released.push(...w.release());
    }
    expect(released).toEqual(ids);
    expect(w.size).toBe(0);
  });
});

describe('PUBACKs written for a commit', () => {
  it('are four bytes each: type, remaining length 2, packet id', () => {
    expect([...pubacks([1, 0x1234])]).toEqual([0x40, 2, 0, 1, 0x40, 2, 0x12, 0x34]);
  });
});
