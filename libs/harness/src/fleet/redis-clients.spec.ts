import { parseClientList } from './redis-clients';

describe('parseClientList', () => {
  it('reads name, command and flags, and tells blocking connections apart', () => {
    const list = [
      'id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=berth:controller:vm:42 age=3 idle=0 flags=N db=0 cmd=evalsha user=default',
      'id=8 addr=127.0.0.1:5001 laddr=127.0.0.1:6379 fd=9 name=berth:c2NoZWR1bGVz:w:berth:controller:vm:42:scheduler age=3 idle=1 flags=b db=0 cmd=bzpopmin user=default',
      'id=9 addr=127.0.0.1:5002 laddr=127.0.0.1:6379 fd=10 name= age=1 idle=1 flags=N db=0 cmd=client|list user=default',
      '',
    ].join('\n');
    expect(parseClientList(list)).toEqual([
      { id: '7', name: 'berth:controller:vm:42', cmd: 'evalsha', flags: 'N', blocking: false },
      { id: '8', name: 'berth:c2NoZWR1bGVz:w:berth:controller:vm:42:scheduler', cmd: 'bzpopmin', flags: 'b', blocking: true },
      { id: '9', name: '', cmd: 'client|list', flags: 'N', blocking: false },
    ]);
  });

  it('counts a connection whose last command was blocking even while it is not blocked at this instant', () => {
    const [client] = parseClientList('id=1 name=x flags=N cmd=blmove');
    expect(client?.blocking).toBe(true);
  });
});
