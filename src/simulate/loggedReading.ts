/** One reading as a logger file holds it, before it becomes a message. */
export interface LoggedReading {
  /** Milliseconds since 1970 (UTC). */
  timeMs: number;
  /** °C. */
  temperature: number;
  /** %RH. */
  humidity?: number;
  /** Battery, volts. */
  batteryV?: number;
  /** Signal strength, dBm. */
  rssi?: number;
}

/** A parser's complaint about one line of a file. */
export class LoggerFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'LoggerFileError';
  }
}
