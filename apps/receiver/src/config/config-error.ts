/** Invalid configuration, found at boot. The message says which setting and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
