// Tokenizer built from GGUF metadata. Encoding follows llama_vocab::impl::tokenize in llama.cpp's
// src/llama-vocab.cpp (special-token partition, then SPM or BPE on each text fragment); decoding follows
// token_to_piece/detokenize, except that decoding is lossless: llama.cpp's clean_up_tokenization_spaces pass
// (which rewrites " ," to "," and the like for some BPE vocabularies) is not applied.
import { Metadata, openGguf } from '../gguf/reader.js';
import { Attr } from './attrs.js';
import { BpeTokenizer } from './bpe.js';
import { partition } from './special.js';
import { spmTokenize } from './spm.js';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, utf8Bytes } from './unicode.js';
import { loadVocab, type Vocab } from './vocab.js';

export interface EncodeOptions {
  /** Add BOS (and EOS) as the vocabulary's add_bos_token/add_eos_token say. Default false. */
  addSpecial?: boolean;
  /** Recognise control-token texts such as <|im_start|> in the input. Default false. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop control and unknown tokens (BOS, EOS, <|im_end|>, ...) instead of rendering their text. */
  skipSpecial?: boolean;
}

export interface StreamDecoder {
  /** Adds a token; returns the text that is now complete (an unfinished UTF-8 sequence is held back). */
  push(id: number): string;
  /** Returns what is left, with any unfinished UTF-8 sequence as U+FFFD. */
  flush(): string;
}

const SPACE = 0x20;

export class Tokenizer {
  readonly vocabSize: number;
  readonly bos?: number;
  readonly eos?: number;
  readonly eot?: number;
  readonly addBos: boolean;
  private readonly bpe?: BpeTokenizer;
  private readonly bytesCache: (Uint8Array | undefined)[];
  /** Longest token text in UTF-16 code units, or 0 when no bound holds (see minTokens); computed on first use. */
  private longestToken: number | undefined;

  private constructor(private readonly vocab: Vocab) {
    this.vocabSize = vocab.tokens.length;
    this.bos = vocab.special.bos;
    this.eos = vocab.special.eos;
    this.eot = vocab.special.eot;
    this.addBos = vocab.addBos;
    this.bpe = vocab.kind === 'bpe' ? new BpeTokenizer(vocab) : undefined;
    this.bytesCache = new Array(this.vocabSize);
  }

  static fromMetadata(md: Metadata): Tokenizer {
    return new Tokenizer(loadVocab(md));
  }

  static fromGguf(path: string): Tokenizer {
    const file = openGguf(path);
    try {
      return Tokenizer.fromMetadata(new Metadata(file.metadata, path));
    } finally {
      file.close();
    }
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const v = this.vocab;
    const addSpecial = opts.addSpecial ?? false;
    const out: number[] = [];
    if (addSpecial && v.addBos && v.special.bos !== undefined) out.push(v.special.bos);
    // SPM prefixes a space to the first text fragment and to every fragment that follows a special token.
    let prevSpecial = true;
    for (const f of partition(v, text, opts.parseSpecial ?? false)) {
      if (typeof f === 'number') {
        out.push(f);
        prevSpecial = true;
      } else if (this.bpe) {
        this.bpe.tokenize(f, out);
      } else {
        const spaced = v.addSpacePrefix && prevSpecial ? ` ${f}` : f;
        spmTokenize(v, spaced.replaceAll(' ', '\u2581'), out);
        prevSpecial = false;
      }
    }
    if (addSpecial && v.addEos && v.special.eos !== undefined) out.push(v.special.eos);
    return out;
  }

  /**
   * A lower bound on `encode(text, opts).length`, in time proportional to the vocabulary (once) rather than
   * the text, so a huge prompt can be refused before it is tokenized. Every token stands for at most its own
   * text: SPM matches vocabulary texts in the input (spaces become U+2581, one code unit each) or falls back
   * to bytes; byte-level BPE tokens are one char per input byte, and a UTF-8 byte holds at most one UTF-16
   * unit. So no token covers more code units than the longest token text. BPE vocabularies missing a byte's
   * token drop that byte instead (as llama.cpp does), which breaks the bound: there it is 0.
   */
  minTokens(text: string, opts: EncodeOptions = {}): number {
    const v = this.vocab;
    let special = 0;
    if (opts.addSpecial && v.addBos && v.special.bos !== undefined) special++;
    if (opts.addSpecial && v.addEos && v.special.eos !== undefined) special++;
    this.longestToken ??= this.computeLongestToken();
    if (this.longestToken === 0 || text.length === 0) return special;
    return special + Math.ceil(text.length / this.longestToken);
  }

  private computeLongestToken(): number {
    const v = this.vocab;
    if (v.kind === 'bpe') {
      for (let b = 0; b < 256; b++) {
        if (!v.ids.has(BYTE_TO_CHAR[b])) return 0;
      }
    }
    let longest = 1;
    for (const t of v.tokens) longest = Math.max(longest, t.length);
    return longest;
  }

  /**
   * Concatenates the tokens' bytes. With add_space_prefix (SPM), the space the encoder prefixed is removed
   * from the first text token after any leading BOS; llama.cpp removes it only when no BOS precedes.
   */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let stripSpace = this.vocab.addSpacePrefix;
    for (const id of ids) {
      let bytes = this.tokenBytes(id, opts.skipSpecial ?? false);
      if (stripSpace && id !== this.bos) {
        if (bytes[0] === SPACE) bytes = bytes.subarray(1);
        stripSpace = false;
      }
      parts.push(bytes);
    }
    return utf8(concatBytes(parts));
  }

  /** The token's text; a token holding part of a UTF-8 sequence shows it as U+FFFD (see createStreamDecoder). */
  tokenToPiece(id: number): string {
    return utf8(this.tokenBytes(id, false));
  }

  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    const decoder = new TextDecoder('utf-8');
    const skip = opts.skipSpecial ?? false;
    return {
      push: (id) => decoder.decode(this.tokenBytes(id, skip), { stream: true }),
      flush: () => decoder.decode(),
    };
  }

  isEndOfGeneration(id: number): boolean {
    return this.vocab.eog.has(id);
  }

  /** token_to_piece: the bytes a token stands for. */
  private tokenBytes(id: number, skipSpecial: boolean): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token id ${id} is out of range (vocabulary size ${this.vocabSize})`);
    }
    const attr = this.vocab.attrs[id];
    if (skipSpecial && attr & (Attr.CONTROL | Attr.UNKNOWN)) return new Uint8Array(0);
    let bytes = this.bytesCache[id];
    if (bytes === undefined) {
      bytes = this.pieceBytes(this.vocab.tokens[id], attr);
      this.bytesCache[id] = bytes;
    }
    return bytes;
  }

  private pieceBytes(text: string, attr: number): Uint8Array {
    if (attr & (Attr.CONTROL | Attr.UNKNOWN | Attr.USER_DEFINED)) return utf8Bytes(text);
    if (attr & Attr.NORMAL) {
      if (this.vocab.kind === 'spm') return utf8Bytes(text.replaceAll('\u2581', ' '));
      // Byte-level BPE: every char stands for one byte. llama.cpp marks chars outside the map as
      // [UNK_BYTE_..]; we keep them as their own UTF-8.
      const out: number[] = [];
      for (const ch of text) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b !== undefined) out.push(b);
        else out.push(...utf8Bytes(ch));
      }
      return Uint8Array.from(out);
    }
    if (attr & Attr.BYTE) return Uint8Array.of(Number.parseInt(text.slice(3, 5), 16));
    return new Uint8Array(0); // unused / undefined tokens have no text
  }
}

// Buffer's utf8 decoding, without Buffer (browsers): invalid sequences become U+FFFD, a BOM stays text.
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8 = (bytes: Uint8Array): string => UTF8.decode(bytes);

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
