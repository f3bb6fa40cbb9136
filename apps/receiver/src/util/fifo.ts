/**
 * A first-in, first-out queue whose `shift` takes constant time. An array's `shift` moves every element left; V8
 * avoids that only while the array is small, so a queue of tens of thousands (the files of a session planned but
 * not yet received, up to the entry credit) made each `shift` a copy of the whole queue: 30,000 shifts of a
 * 16,000-element array took about a second. The items taken are dropped (the memory compacted) once they are
 * both many and most of the array.
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The first item, not taken. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The first item, from the front, for which `test` holds. */
  find(test: (item: T) => boolean): T | undefined {
    for (let at = this.head; at < this.items.length; at++) {
      const item = this.items[at] as T;
      if (test(item)) return item;
    }
    return undefined;
  }
}

/** Taken items kept before compacting: compacting copies what is left, at most once per as many shifts. */
const COMPACT_AFTER = 1024;
