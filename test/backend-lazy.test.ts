/**
 * The registry's built-in backends load on first probe or create (src/backends/registry.ts): a backend whose
 * module fails to import is unavailable with the reason, a coded error when named; the others still run.
 */
import { describe, expect, it, vi } from 'vitest';
import { BackendRegistry } from '../src/backends/registry.js';

vi.mock('../src/backends/webgpu/index.js', () => {
  throw new Error('Dawn bindings missing');
});

describe('a backend module that does not import', () => {
  it('is unavailable with the reason; naming it is E_BACKEND_UNAVAILABLE; the others still run', async () => {
    const reg = new BackendRegistry();
    const rows = await reg.describe();
    const webgpu = rows.find((r) => r.name === 'webgpu')!;
    expect(webgpu.available).toBe(false);
    expect(webgpu.reason).toMatch(/^its module does not load: /);
    expect(rows.find((r) => r.name === 'reference')!.available).toBe(true);
    await expect(reg.choose('webgpu')).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: expect.stringContaining('backend webgpu is unavailable: its module does not load'),
    });
    expect((await reg.choose('reference')).backend.name).toBe('reference');
  });
});
