/**
 * Exhaustiveness guard for `switch` statements over a union: the call only type-checks when every member has
 * its own `case`, so adding an op or a variant fails to compile until each switch handles it.
 */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
