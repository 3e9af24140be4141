/** A setting that is missing or malformed; the message names the variable and the form it expects. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly got?: string,
  ) {
    super(
      got === undefined
        ? `${variable} is not set; expected ${expected}.`
        : `${variable} is ${JSON.stringify(got)}; expected ${expected}.`,
    );
  }
}
