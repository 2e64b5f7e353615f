/// <reference types="@webgpu/types" />

/** GPUBufferUsage bits (the `globals` of the webgpu package are not installed on globalThis). */
export const USAGE = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
export const MAP_MODE_READ = 0x0001;

/** Usage of every pooled storage buffer (one class, so any free buffer of the right size fits any role). */
export const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

/**
 * Size class of a request: powers of two from 256 B to 1 MiB, then whole MiB, so that networks of similar shape
 * reuse each other's buffers without wasting more than 2× (small) or 1 MiB (large).
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes));
  if (b <= 1 << 20) return 2 ** Math.ceil(Math.log2(b));
  return Math.ceil(b / (1 << 20)) * (1 << 20);
}

/**
 * Pooled GPU buffers by (usage, size class). `acquire` returns a free buffer or creates one; `release` returns it
 * for reuse by later work (queue order makes reuse safe: later submissions run after earlier ones).
 * Free buffers beyond `maxFreeBytes` are destroyed.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private freeBytes = 0;
  /** Buffers created so far (a test hook for reuse). */
  created = 0;
  private readonly live = new Set<GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    private readonly maxFreeBytes = 512 << 20,
  ) {}

  acquire(bytes: number, usage: number = STORAGE_USAGE, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    const hit = list?.pop();
    if (hit) {
      this.freeBytes -= size;
      this.live.add(hit);
      return hit;
    }
    const buf = this.device.createBuffer({ size, usage, ...(label ? { label } : {}) });
    this.created++;
    this.live.add(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (!this.live.delete(buf)) return;
    if (this.freeBytes + buf.size > this.maxFreeBytes) {
      buf.destroy();
      return;
    }
    const key = `${buf.usage}:${buf.size}`;
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    list.push(buf);
    this.freeBytes += buf.size;
  }

  /** Destroy every buffer, free or in use. */
  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const b of this.live) b.destroy();
    this.free.clear();
    this.live.clear();
    this.freeBytes = 0;
  }
}
