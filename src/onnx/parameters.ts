/**
 * Which initializers of an ONNX file are a PyTorch model's nn.Parameters. A file cannot tell a registered buffer
 * from a parameter where either is read in arithmetic (`gamma * x`: a layer scale, or a buffer of fixed gains);
 * the proxies that differ are params (Θ counts parameters) and VKDNW (it differentiates every parameter tensor).
 * Two sources say: the file's metadata entry {@link PARAMETERS_KEY} (the Python client's `export_torch` and
 * `scripts/make_proxy_fixtures.py` write it), and the user's pattern (`score --learned REGEX`).
 */
import { SwapError } from '../util/errors.js';
import type { LoadedModel } from './load.js';

/** The `metadata_props` key whose value is the JSON array of the model's `named_parameters()` names. */
export const PARAMETERS_KEY = 'swapnas.parameters';

/** What is known of a file's parameters. */
export interface ParameterNames {
  /** Whether anything says (the file's list or a pattern); otherwise arithmetic constants stay buffers, with a note. */
  readonly known: boolean;
  /** Whether the initializer `name` is an nn.Parameter. */
  isParameter(name: string): boolean;
  /** Whether the file's own list names `name` (the list is complete; a pattern speaks of arithmetic reads only). */
  isListed(name: string): boolean;
}

/**
 * The user's `--learned` pattern (a JavaScript regular expression over initializer names, e.g. `gamma$|layer_scale`),
 * or undefined where none is given; E_OPTION where it does not compile.
 */
export function learnedPattern(text: string | undefined): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (e) {
    throw new SwapError(
      'E_OPTION',
      `--learned must be a regular expression over initializer names, got ${JSON.stringify(text.slice(0, 40))}: ${(e as Error).message.slice(0, 80)}`,
    );
  }
}

/** The parameter names of `m` from its metadata list, and any initializer whose name matches `pattern`. */
export function parameterNames(m: Pick<LoadedModel, 'model' | 'source'>, pattern?: RegExp): ParameterNames {
  const listed = listedParameters(m);
  return {
    known: listed !== undefined || pattern !== undefined,
    isParameter: (name) => Boolean(listed?.has(name) || pattern?.test(name)),
    isListed: (name) => Boolean(listed?.has(name)),
  };
}

function listedParameters(m: Pick<LoadedModel, 'model' | 'source'>): ReadonlySet<string> | undefined {
  const entry = (m.model.metadataProps ?? []).find((p) => p.key === PARAMETERS_KEY);
  if (!entry) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(entry.value ?? '');
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    throw new SwapError(
      'E_ONNX_FORMAT',
      `${m.source}: metadata ${PARAMETERS_KEY} must be a JSON array of parameter names (got ${JSON.stringify((entry.value ?? '').slice(0, 40))})`,
    );
  return new Set(names as string[]);
}
