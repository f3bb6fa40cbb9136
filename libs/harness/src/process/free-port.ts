// One port allocator for every test process on the machine (see @berth/local-stack).
export { canConnect, freePort } from '@berth/local-stack';
