/** Search spaces as the search sees them: the shared space registry (src/spaces/registry.ts). */
export {
  nb201Topology,
  spaceEntry as searchSpace,
  spaceNames,
  type SpaceEntry as SearchSpaceEntry,
} from '../catalog/registry.js';
