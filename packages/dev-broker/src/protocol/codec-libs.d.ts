// Owns the type declarations of the untyped pure-JS compression packages (snappyjs, lz4js).
declare module 'snappyjs' {
  const snappy: { uncompress(input: Uint8Array): Uint8Array; compress(input: Uint8Array): Uint8Array };
  export default snappy;
}
declare module 'lz4js' {
  const lz4: { decompress(input: Uint8Array): Uint8Array; compress(input: Uint8Array): Uint8Array };
  export default lz4;
}
