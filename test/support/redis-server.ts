import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { waitForPort } from './ports';

/** Whether `redis-server` is on PATH (CI must have it: suites using it then fail instead of being skipped). */
export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server of one suite's own, for suites that stop, freeze or restart it (never the run's shared one). */
export class RedisServer {
  private child: ChildProcess | null = null;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitForPort(this.port, 5000, 'redis-server');
  }

  /** SIGSTOP freezes it with its sockets open (a hung Redis); SIGCONT thaws it. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
