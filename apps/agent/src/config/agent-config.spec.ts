import { AgentErrorCode } from '../errors/agent-error';
import { loadAgentConfig, type AgentConfig } from './agent-config';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): AgentConfig {
  const result = loadAgentConfig(argv, { HOME: '/home/test', ...env });
  if (result.help) throw new Error('unexpected help');
  return result.config;
}

describe('loadAgentConfig', () => {
  it('reads the environment, with defaults', () => {
    expect(config([], { BERTH_CONTROLLER_URL: 'http://ctl:3000/' })).toEqual({
      controllerUrl: 'http://ctl:3000',
      enrollmentSecret: null,
      stateDir: process.getuid?.() === 0 ? '/var/lib/berth-agent' : '/home/test/.local/state/berth-agent',
      concurrency: 1,
    });
  });

  it('lets flags override the environment, in both --flag value and --flag=value forms', () => {
    const env = { BERTH_CONTROLLER_URL: 'http://env:1', BERTH_ENROLLMENT_SECRET: 'env-secret', BERTH_AGENT_STATE_DIR: '/env/state', BERTH_AGENT_CONCURRENCY: '2' };
    expect(config(['--controller', 'https://flag:2', '--enroll-secret=flag-secret', '--state-dir', '/flag/state', '--concurrency=4'], env)).toEqual({
      controllerUrl: 'https://flag:2',
      enrollmentSecret: 'flag-secret',
      stateDir: '/flag/state',
      concurrency: 4,
    });
    expect(config([], env)).toEqual({ controllerUrl: 'http://env:1', enrollmentSecret: 'env-secret', stateDir: '/env/state', concurrency: 2 });
  });

  it.each([
    [[], {}, /controller URL is missing/],
    [['--controller', 'not a url'], {}, /not a URL/],
    [['--controller', 'ftp://x'], {}, /must be http/],
    [['--controller', 'http://x', '--state-dir', 'relative'], {}, /absolute path/],
    [['--controller', 'http://x', '--concurrency', '0'], {}, /integer from 1 to 64/],
    [['--controller', 'http://x', '--concurrency', 'many'], {}, /integer from 1 to 64/],
    [['--controller', 'http://x', '--bogus'], {}, /unknown argument "--bogus"/],
    [['--controller'], {}, /--controller needs a value/],
  ])('refuses %j with a clear config error', (argv, env, message) => {
    expect(() => config(argv, env)).toThrow(message);
    try {
      config(argv, env);
    } catch (error) {
      expect((error as { code?: string }).code).toBe(AgentErrorCode.Config);
    }
  });

  it('answers --help without validating anything', () => {
    expect(loadAgentConfig(['--help'], {})).toEqual({ help: true });
  });
});
