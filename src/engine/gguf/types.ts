/** GGUF metadata value types (gguf.h, `enum gguf_type`). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** The ggml tensor types this project writes or needs to name (ggml.h, `enum ggml_type`). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  BF16: 30,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Block size (elements) and bytes per block for the ggml types whose sizes the reader must know. */
export const ggmlTypeLayout: Readonly<
  Record<number, { blockSize: number; bytesPerBlock: number; name: string }>
> = {
  0: { blockSize: 1, bytesPerBlock: 4, name: "F32" },
  1: { blockSize: 1, bytesPerBlock: 2, name: "F16" },
  2: { blockSize: 32, bytesPerBlock: 18, name: "Q4_0" },
  3: { blockSize: 32, bytesPerBlock: 20, name: "Q4_1" },
  6: { blockSize: 32, bytesPerBlock: 22, name: "Q5_0" },
  7: { blockSize: 32, bytesPerBlock: 24, name: "Q5_1" },
  8: { blockSize: 32, bytesPerBlock: 34, name: "Q8_0" },
  9: { blockSize: 32, bytesPerBlock: 36, name: "Q8_1" },
  10: { blockSize: 256, bytesPerBlock: 84, name: "Q2_K" },
  11: { blockSize: 256, bytesPerBlock: 110, name: "Q3_K" },
  12: { blockSize: 256, bytesPerBlock: 144, name: "Q4_K" },
  13: { blockSize: 256, bytesPerBlock: 176, name: "Q5_K" },
  14: { blockSize: 256, bytesPerBlock: 210, name: "Q6_K" },
  15: { blockSize: 256, bytesPerBlock: 292, name: "Q8_K" },
  16: { blockSize: 256, bytesPerBlock: 66, name: "IQ2_XXS" },
  17: { blockSize: 256, bytesPerBlock: 74, name: "IQ2_XS" },
  18: { blockSize: 256, bytesPerBlock: 98, name: "IQ3_XXS" },
  19: { blockSize: 256, bytesPerBlock: 50, name: "IQ1_S" },
  20: { blockSize: 32, bytesPerBlock: 18, name: "IQ4_NL" },
  21: { blockSize: 256, bytesPerBlock: 110, name: "IQ3_S" },
  22: { blockSize: 256, bytesPerBlock: 82, name: "IQ2_S" },
  23: { blockSize: 256, bytesPerBlock: 136, name: "IQ4_XS" },
  24: { blockSize: 1, bytesPerBlock: 1, name: "I8" },
  25: { blockSize: 1, bytesPerBlock: 2, name: "I16" },
  26: { blockSize: 1, bytesPerBlock: 4, name: "I32" },
  27: { blockSize: 1, bytesPerBlock: 8, name: "I64" },
  28: { blockSize: 1, bytesPerBlock: 8, name: "F64" },
  29: { blockSize: 256, bytesPerBlock: 56, name: "IQ1_M" },
  30: { blockSize: 1, bytesPerBlock: 2, name: "BF16" },
  34: { blockSize: 256, bytesPerBlock: 54, name: "TQ1_0" },
  35: { blockSize: 256, bytesPerBlock: 66, name: "TQ2_0" },
  39: { blockSize: 32, bytesPerBlock: 17, name: "MXFP4" },
};

/** Bytes a tensor of `elements` elements takes in `type`, or undefined for a type this table does not know. */
export function ggmlTensorBytes(type: number, elements: number): number | undefined {
  const layout = ggmlTypeLayout[type];
  if (!layout) return undefined;
  return Math.ceil(elements / layout.blockSize) * layout.bytesPerBlock;
}
