import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { UploadRejected } from './upload.service';

/** What the client sent about the file: its name (never empty here) and declared type. */
export interface IncomingFileInfo {
  filename: string;
  mimeType: string;
}

/**
 * Reads a multipart/form-data request that must carry exactly one file, in the field `file`, with a file name;
 * `consume` gets that file as it streams. Resolves with what `consume` made once the whole body has been read.
 * Anything else rejects, after `consume` has settled and what it made is discarded: UploadRejected for the
 * client's faults (two files, no file name, a malformed or truncated body, a refusal from `consume`), the
 * client's disconnect included. Every event of the request, of busboy and of `consume` ends in this one promise,
 * so none of them can become an unhandled rejection; once refused, the rest of the body is read and dropped so
 * the client can read the answer.
 */
export async function receiveOneFile<T extends { discard(): Promise<void> }>(
  req: IncomingMessage,
  maxFileBytes: number,
  consume: (file: Readable, info: IncomingFileInfo) => Promise<T>,
): Promise<T> {
  let parser: busboy.Busboy;
  try {
    // Browsers send UTF-8 file names (中文 names included); busboy assumes latin1 unless told. Other fields are
    // ignored, so busboy keeps at most a few small ones in memory.
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      limits: { files: 1, fileSize: maxFileBytes + 1, fields: 10, fieldSize: 1024 },
    });
  } catch {
    throw new UploadRejected(400, 'The multipart body is malformed (no boundary in its Content-Type)');
  }

  const file: { consuming?: Promise<T> } = {};
  const body = new Promise<void>((resolve, reject) => {
    let refused = false;
    const refuse = (err: unknown) => {
      if (refused) return;
      refused = true;
      reject(err);
      req.unpipe(parser);
      parser.destroy(); // also ends the file stream `consume` is reading, so it stops and cleans up
      if (!req.complete) req.resume();
    };
    const malformed = (err: Error) => new UploadRejected(400, `The multipart body is malformed: ${err.message}`);
    const oneFile = () => new UploadRejected(400, 'Send one file per upload, in the field named "file"');
    const interrupted = () => new UploadRejected(400, 'The upload was interrupted before its end');

    parser.on('file', (field, stream, info) => {
      // Its failures reach us through `consume` or the parser; unheard, a destroyed file stream's 'error' would kill the process.
      stream.on('error', () => undefined);
      if (field !== 'file') return refuse(oneFile());
      if (!info.filename) return refuse(new UploadRejected(400, 'The "file" part has no file name: send it as a file'));
      file.consuming = consume(stream, { filename: info.filename, mimeType: info.mimeType });
      file.consuming.catch(refuse);
    });
    parser.on('field', (name) => {
      if (name === 'file') refuse(new UploadRejected(400, 'The "file" part has no file name: send it as a file'));
    });
    parser.on('filesLimit', () => refuse(oneFile()));
    parser.on('error', (err: Error) => refuse(malformed(err)));
    parser.on('close', () => (file.consuming ? resolve() : refuse(new UploadRejected(400, 'No field named "file" in the body'))));
    req.on('error', () => refuse(interrupted()));
    req.on('close', () => {
      if (!req.complete) refuse(interrupted());
    });
    // A client gone while the token was being checked closed the request before these listeners existed.
    if (req.destroyed) return refuse(interrupted());
    req.pipe(parser);
  });

  try {
    await body;
    return await file.consuming!;
  } catch (err) {
    const made = await file.consuming?.catch(() => null);
    await made?.discard();
    throw err;
  }
}
