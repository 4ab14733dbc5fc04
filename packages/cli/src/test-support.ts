import { Writable } from 'node:stream';

/** A writable stream that keeps what is written, for tests that capture a command's output. */
export type CapturedStream = Writable & { text: () => string };

/** Creates a {@link CapturedStream}; `text()` returns everything written so far. */
export function captureStream(): CapturedStream {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as CapturedStream;
  stream.text = () => chunks.join('');
  return stream;
}
