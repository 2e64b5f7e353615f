/** Run `node script ...args` under a loader hook; the distinct file: URLs it resolved, in first-resolved order. */
export function loadedModules(
  script: string,
  args: readonly string[],
  options?: { env?: NodeJS.ProcessEnv; cwd?: string },
): { status: number | null; stdout: string; stderr: string; urls: string[] };
