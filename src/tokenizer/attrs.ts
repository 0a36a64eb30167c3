// Token attributes and special-token slots shared by the vocabulary loader and the tokenizers.

/** Token attribute bits (llama_token_attr). */
export const Attr = {
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

/** GGUF token_type values 1..6 (llama_token_type) to attributes; anything else is "undefined" (0). */
export const TYPE_TO_ATTR: readonly number[] = [
  0,
  Attr.NORMAL,
  Attr.UNKNOWN,
  Attr.CONTROL,
  Attr.USER_DEFINED,
  Attr.UNUSED,
  Attr.BYTE,
];

export interface SpecialIds {
  bos?: number;
  eos?: number;
  eot?: number;
  eom?: number;
  unk?: number;
  pad?: number;
  fimPre?: number;
  fimSuf?: number;
  fimMid?: number;
  fimPad?: number;
  fimRep?: number;
  fimSep?: number;
}
export type Slot = keyof SpecialIds;
