import { holdsCid, normalCid } from './cid.js';
import { httpCall } from './httpCall.js';

/**
 * The bytes behind `cid`, read through an IPFS HTTP gateway (`{gateway}/ipfs/{cid}`,
 * a dedicated Pinata gateway or any other) and checked against the CID, so a gateway
 * cannot hand over other content. `token` goes out as `x-pinata-gateway-token`.
 */
export async function readThroughGateway(
  gateway: URL,
  cid: string,
  timeoutMs: number,
  token?: string,
): Promise<Uint8Array> {
  const base = gateway.pathname.endsWith('/') ? gateway : new URL(`${gateway.href}/`);
  const headers: Record<string, string> = {};
  if (token) headers['x-pinata-gateway-token'] = token;
  const answer = await httpCall({
    method: 'GET',
    url: new URL(`ipfs/${normalCid(cid)}`, base),
    headers,
    timeoutMs,
    what: 'the IPFS gateway',
  });
  if (!(await holdsCid(answer.body, cid))) {
    throw new Error(`the gateway ${gateway.origin} answered bytes that are not ${cid}`);
  }
  return answer.body;
}
