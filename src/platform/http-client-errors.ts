import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from './errors';
import { newTraceId } from './trace';

const STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/**
 * `clientError` of the HTTP server: bytes Node cannot parse as a request (e.g. what follows a body longer than its
 * Content-Length) get an answer in GraphQL's error shape, like every other refusal, instead of Node's bare
 * `400 Bad Request`; then the connection closes.
 */
export function answerMalformedHttp(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own handler: nothing to say to a gone client, nor in the middle of another response.
  const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason] = STATUS[err.code ?? ''] ?? [400, 'Bad Request'];
  const traceId = newTraceId();
  const body = JSON.stringify({
    errors: [{ message: `The HTTP request is malformed (${reason})`, extensions: { code: ErrorCode.BAD_USER_INPUT, traceId } }],
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Trace-Id: ${traceId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
