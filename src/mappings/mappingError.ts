/**
 * A mapping or a device setting that cannot be used: the message says which field is
 * wrong and what it should be. The API answers it as `MAPPING_INVALID` (400), the
 * `heru mapping` command prints it.
 */
export class MappingError extends Error {
  override readonly name = 'MappingError';
}
