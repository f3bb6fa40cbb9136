/** Byte caps of the protocol's string fields (UTF-8). */
export const MAX_ID_BYTES = 128;
export const MAX_CREDENTIAL_BYTES = 4096;
export const MAX_TEXT_BYTES = 4096;
export const SHA256_BYTES = 32;
/** Frame header: u32 big-endian length of type byte + payload. */
export const FRAME_HEADER_BYTES = 4;
/** Symlink targets: PATH_MAX (4096) less the terminating NUL, as the repository stores them. */
export const MAX_LINK_TARGET_BYTES = 4095;
