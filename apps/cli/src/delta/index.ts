export { registerDeltaCommands } from './delta.command';
