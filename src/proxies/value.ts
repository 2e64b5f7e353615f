/**
 * The value of one proxy on one network: a finite number, or null with the reason (NaN/Inf, degenerate input). A
 * number may carry a reason too, when it is a defined fallback rather than a computed value (VKDNW's 0 where the
 * official code's SVD fails, AZ expressivity's empty sum).
 */
export interface ProxyValue {
  readonly value: number | null;
  readonly reason?: string;
}

/** Wrap a raw score: non-finite values become null with a reason naming the proxy and what happened. */
export function finite(proxy: string, v: number, what = 'score'): ProxyValue {
  if (Number.isFinite(v)) return { value: v };
  return { value: null, reason: `${proxy}: ${what} is ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}` };
}
