import {
  type ArchSettings,
  type PreparedScore,
  prepareScore,
  type ServedScore,
  scoreNetworksWarm,
  scoreResult,
  type ScoreResult,
} from './adapter.js';
import type { WarmState } from './warm.js';

/** One `score` request of a coalesced run. */
export interface CoalescedItem {
  readonly archs: readonly string[];
  readonly settings: ArchSettings;
  readonly signal: AbortSignal;
}

/** A signal that aborts once every one of `signals` has (a shared call stops only when nobody waits for it). */
function allAborted(signals: readonly AbortSignal[]): AbortSignal {
  const ac = new AbortController();
  const check = () => {
    if (signals.every((s) => s.aborted)) ac.abort();
  };
  for (const s of signals) s.addEventListener('abort', check, { once: true });
  check();
  return ac.signal;
}

/**
 * Score several `score` requests at once: each is prepared alone (a bad one fails alone), then requests whose
 * resolved request, backend and threads agree share one coarse backend call over all their networks, and every
 * request gets exactly the rows it would get alone (a network's score does not depend on its neighbours).
 */
export async function scoreCoalesced(
  items: readonly CoalescedItem[],
  warm: WarmState,
): Promise<(ScoreResult | { error: unknown })[]> {
  const out: (ScoreResult | { error: unknown })[] = new Array(items.length);
  const groups = new Map<string, { p: PreparedScore; i: number }[]>();
  for (const [i, it] of items.entries()) {
    try {
      const p = await prepareScore(it.archs, it.settings, warm);
      const g = groups.get(p.key) ?? [];
      g.push({ p, i });
      groups.set(p.key, g);
    } catch (error) {
      out[i] = { error };
    }
  }
  for (const g of groups.values()) {
    try {
      const networks = g.flatMap(({ p }) => p.networks);
      const signal = allAborted(g.map(({ i }) => items[i]!.signal));
      const scores: ServedScore[] = await scoreNetworksWarm(g[0]!.p, networks, warm, signal);
      let at = 0;
      for (const { p, i } of g) {
        out[i] = scoreResult(p, scores.slice(at, at + p.networks.length));
        at += p.networks.length;
      }
    } catch (error) {
      for (const { i } of g) out[i] = { error };
    }
  }
  return out;
}
