export function runSimulate(_args: string[]): Promise<void> {
  return Promise.reject(new Error('simulate is being built'));
}
