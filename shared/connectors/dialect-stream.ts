/**
 * Rows from a driver (arrays of values, one per column) as PostgreSQL COPY
 * text, through the shared copy encoder. Backpressure runs end to end: the
 * destination's COPY slows the encoder, which stops pulling rows, which
 * pauses the driver's stream. When the reader stops early (a failed
 * destination write) the driver stream is destroyed, which ends its query.
 */
import { Transform, type Readable } from 'node:stream';
import { createCopyEncoder } from '../data/copy-encoder.js';

/** Per-column conversion of a driver value before encoding (undefined: as it comes). */
export type Decoder = ((value: unknown) => unknown) | undefined;

function decodeStage(decoders: readonly Decoder[]): Transform {
  return new Transform({
    objectMode: true,
    transform(row: unknown[], _encoding, callback) {
      try {
        callback(
          null,
          row.map((value, i) => {
            const decoder = decoders[i];
            return decoder && value !== null && value !== undefined ? decoder(value) : value;
          }),
        );
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * The COPY text of a driver's row stream. A failure of the driver (or of a
 * decoder) fails the returned stream with `wrapError(error)`, so the reader
 * sees a classified error that names the relation.
 */
export function rowsToCopy(rows: Readable, decoders: readonly Decoder[] = [], wrapError: (error: unknown) => Error = (e) => e as Error): Readable {
  const encoder = createCopyEncoder();
  const fail = (error: unknown) => {
    if (!encoder.destroyed) encoder.destroy(wrapError(error));
  };
  rows.on('error', fail);
  let upstream: Readable = rows;
  if (decoders.some((d) => d)) {
    const decode = decodeStage(decoders);
    decode.on('error', fail);
    upstream = rows.pipe(decode);
  }
  upstream.pipe(encoder);
  // The reader gave up (or an error ended the encoder): stop the driver's query.
  encoder.on('close', () => {
    if (!rows.readableEnded) rows.destroy();
  });
  return encoder;
}
