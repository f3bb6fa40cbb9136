import { type JournalRecord } from '@berth/repository';
import { type CommitItem, CommitPipeline } from './commit-pipeline';

function item(seq: number): CommitItem {
  return { seq, dir: Buffer.from(`/d${seq}`), dirComplete: true, ops: 1, journal: { dir: Buffer.from(`/d${seq}`), tree: Buffer.alloc(32, seq), files: 0, dirs: 0, bytes: 0 } };
}

/** A store whose flushes end when the test says, recording what each made durable. */
function pipelineWithGatedStore() {
  const events: string[] = [];
  const gates: Array<() => void> = [];
  const acknowledged: number[][] = [];
  const pipeline = new CommitPipeline({
    store: {
      flush: () => {
        events.push('flush');
        return new Promise<void>((resolve) => gates.push(resolve));
      },
      appendJournal: (_runId: string, records: readonly JournalRecord[]) => {
        events.push(`journal ${records.map((r) => r.dir.toString()).join(',')}`);
        return Promise.resolve();
      },
    },
    runId: 'run',
    flushAfterBytes: 1 << 20,
    acknowledge: (items) => {
      acknowledged.push(items.map((i) => i.seq));
      return Promise.resolve();
    },
    onLatency: () => undefined,
    onFailure: () => undefined,
  });
  const openGates = async (): Promise<void> => {
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { pipeline, events, acknowledged, openGates };
}

describe('CommitPipeline', () => {
  it('makes items added together durable with one flush, and acknowledges them in order', async () => {
    const { pipeline, events, acknowledged, openGates } = pipelineWithGatedStore();
    pipeline.add(item(1), item(2), item(3));
    const drained = pipeline.drain();
    await openGates();
    await drained;
    expect(events).toEqual(['flush', 'journal /d1,/d2,/d3']);
    expect(acknowledged).toEqual([[1, 2, 3]]);
  });

  it('puts what is added while a flush runs into the next one', async () => {
    const { pipeline, events, acknowledged, openGates } = pipelineWithGatedStore();
    pipeline.add(item(1));
    pipeline.add(item(2));
    pipeline.add(item(3));
    const drained = pipeline.drain();
    await openGates();
    await drained;
    expect(events).toEqual(['flush', 'journal /d1', 'flush', 'journal /d2,/d3']);
    expect(acknowledged).toEqual([[1], [2, 3]]);
  });
});
