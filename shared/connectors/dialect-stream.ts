/**
 * Rows from a driver (arrays of values, one per column) as PostgreSQL COPY
 * text, through the shared copy encoder. Backpressure runs end to end: the
 * destination's COPY slows the encoder, which stops pulling rows, which
 * pauses the driver's stream. When the consumer stops early (a failed
 * destination write) the driver stream is destroyed, which cancels its query.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { createCopyEncoder } from '../destination/copy-encoder.js';

/** Per-column conversion of a driver value before encoding (undefined: as it comes). */
export type Decoder = ((value: unknown) => unknown) | undefined;

export function rowsToCopy(rows: Readable, decoders: readonly Decoder[] = []): Readable {
  const encoder = createCopyEncoder();
  const onDone = () => undefined; // pipeline destroys every stage with the first error; the encoder carries it to the reader
  if (!decoders.some((d) => d)) {
    pipeline(rows, encoder, onDone);
    return encoder;
  }
  const decode = new Transform({
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
  pipeline(rows, decode, encoder, onDone);
  return encoder;
}
