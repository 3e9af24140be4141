import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
) => void | Promise<void>;

export interface MockHttpServer {
  /** `http://127.0.0.1:{port}` */
  url: URL;
  /** Ends every connection, hanging ones included, and stops listening. */
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1, port 0, reading each request body whole before `handle`. */
export async function startHttpServer(handle: Handler): Promise<MockHttpServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handle(req, res, Buffer.concat(chunks))).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The parts of a multipart/form-data body, parsed by the platform's own parser. */
export async function formDataOf(
  req: http.IncomingMessage,
  body: Buffer,
): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  return new Response(body, { headers: { 'content-type': type } }).formData();
}
