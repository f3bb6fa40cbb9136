export * from './messages';
export { WireError, isWireError } from './errors';
export { encodeMessage, decodeFrameBody } from './codec';
export { FrameDecoder, type FrameDecoderOptions, type DecodedFrame } from './frame-decoder';
export { FramedConnection, type FramedConnectionOptions, type ConnectionStats } from './framed-connection';
export { validateName, validateAbsolutePath, validateRelativePath, nameProblem, pathComponents, joinPath, parentPath } from './validate';
export { MAX_ID_BYTES, MAX_CREDENTIAL_BYTES, MAX_TEXT_BYTES, SHA256_BYTES, FRAME_HEADER_BYTES, MAX_LINK_TARGET_BYTES } from './limits';
export { truncateUtf8 } from './text';
export { compareWalkOrder, furthestPosition, type WalkPoint } from './walk-order';
