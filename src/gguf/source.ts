// Where a GGUF file's bytes come from. The reader parses through this seam only, so the same parser reads a file
// descriptor under Node (src/host/node.ts), a Blob or a download in a browser (src/host/browser.ts), or bytes
// already in memory (below).

/** Random-access bytes of one file, read synchronously (a browser reads Blobs in a worker with FileReaderSync). */
export interface ByteSource {
  /** Bytes in the file. */
  readonly size: number;
  /**
   * Reads up to `length` bytes at file offset `position` into `into[offset...]`; returns how many it read, which
   * may be fewer than asked (the caller loops), and 0 only at the end of the file.
   */
  read(into: Uint8Array, offset: number, length: number, position: number): number;
  close(): void;
}

/** A source over bytes in memory (an ArrayBuffer, a typed array, a Node Buffer). */
export function bufferSource(bytes: ArrayBuffer | ArrayBufferView): ByteSource {
  const data = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  return {
    size: data.length,
    read(into, offset, length, position) {
      const n = Math.max(0, Math.min(length, data.length - position));
      into.set(data.subarray(position, position + n), offset);
      return n;
    },
    close() {},
  };
}
