/**
 * cmake-js applies `-D` options only when it configures, and it configures only when build/CMakeCache.txt is
 * missing: a cache written under other options would silently keep them (a build asked for `-march=haswell` would
 * stay `-march=native`). scripts/build-native.mjs drops such a cache; the compiled objects stay, so only what the
 * changed options touch is rebuilt.
 */

/**
 * The options in `wanted` (name → value exactly as passed with `-D`) that the cache text records differently or
 * not at all.
 */
export function staleOptions(cacheText, wanted) {
  return Object.entries(wanted)
    .filter(([name, value]) => {
      const m = new RegExp(`^${name}:[A-Z]+=(.*)$`, 'm').exec(cacheText);
      return !m || m[1].trim() !== value;
    })
    .map(([name]) => name);
}
