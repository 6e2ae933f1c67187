/**
 * Run as a process of its own: spawns one supervised `sleep 30`, then dies by SIGKILL at once, in the
 * window where a child may not yet have its death signal (test/integration/supervisor.test.ts).
 */
import { spawnOwned } from '../../src/services/supervisor.js';

spawnOwned({ owner: 'die-after-spawn', role: 'decode', command: 'sleep', args: ['30'], stdio: ['ignore', 'ignore', 'ignore'] });
process.kill(process.pid, 'SIGKILL');
