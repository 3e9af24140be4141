import { ConfigError } from '../config/ConfigError.js';
import { type Env, int, str, url } from '../config/env.js';

export interface GuardianConfig {
  /** `GUARDIAN_API_URL`: the API base, e.g. `https://guardian.example/api/v1`. */
  apiUrl: URL;
  /** `GUARDIAN_USERNAME` and `GUARDIAN_PASSWORD` of the policy user that files documents. */
  username: string;
  password: string;
  /** `GUARDIAN_TENANT_ID`, asked by multi-tenant Guardian services at login. */
  tenantId?: string;
  /** `GUARDIAN_POLICY_ID` and `GUARDIAN_BLOCK_TAG`: the block that receives documents. */
  policyId: string;
  blockTag: string;
  /** `GUARDIAN_TIMEOUT_MS`: milliseconds one call may take, default 30000. */
  timeoutMs: number;
  /** `GUARDIAN_MAX_ATTEMPTS`: tries of one document before giving up to the caller, default 3. */
  maxAttempts: number;
}

/** Guardian's settings, or undefined when GUARDIAN_API_URL is not set. */
export function readGuardianConfig(env: Env): GuardianConfig | undefined {
  const apiUrl = url(env, 'GUARDIAN_API_URL', ['https:', 'http:']);
  if (!apiUrl) return undefined;
  const required = (name: string, expected: string): string => {
    const value = str(env, name);
    if (value === undefined)
      throw new ConfigError(name, `${expected} (GUARDIAN_API_URL is set)`);
    return value;
  };
  const config: GuardianConfig = {
    apiUrl,
    username: required(
      'GUARDIAN_USERNAME',
      'the Guardian user that files anchor documents',
    ),
    password: required('GUARDIAN_PASSWORD', "that user's password"),
    policyId: required(
      'GUARDIAN_POLICY_ID',
      'the id of the policy that receives anchors',
    ),
    blockTag: required('GUARDIAN_BLOCK_TAG', 'the tag of the block that receives them'),
    timeoutMs: int(env, 'GUARDIAN_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
    maxAttempts: int(env, 'GUARDIAN_MAX_ATTEMPTS', 3, { min: 1, max: 20 }),
  };
  const tenantId = str(env, 'GUARDIAN_TENANT_ID');
  if (tenantId) config.tenantId = tenantId;
  return config;
}
