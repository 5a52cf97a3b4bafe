import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { REPO_ROOT } from '../support/processes';

/** No container engine or cluster on our machines: what can be checked without one is checked here. */
const deploy = (...p: string[]) => path.join(REPO_ROOT, 'deploy', ...p);
const read = (...p: string[]) => readFileSync(deploy(...p), 'utf8');

type Manifest = { kind: string; metadata: { name: string }; spec: any };

function manifests(): Manifest[] {
  return readdirSync(deploy('kubernetes'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(read('kubernetes', f)).map((doc) => {
        expect(doc.errors).toEqual([]);
        return doc.toJSON() as Manifest;
      }),
    );
}

describe('deploy/', () => {
  it('Kubernetes: a Deployment probing /healthz and /readyz with a preStop drain, an HPA and a PodDisruptionBudget for it', () => {
    const all = manifests();
    const deployment = all.find((m) => m.kind === 'Deployment')!;
    const container = deployment.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.lifecycle.preStop).toBeDefined();
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    // The grace period covers the preStop sleep and the drain (SHUTDOWN_GRACE_MS).
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    const drainSeconds = Number(container.env.find((e: { name: string }) => e.name === 'SHUTDOWN_GRACE_MS').value) / 1000;
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + drainSeconds);
    const hpa = all.find((m) => m.kind === 'HorizontalPodAutoscaler')!;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    const pdb = all.find((m) => m.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it('compose: two or more ShiftDesk processes, PostgreSQL, Redis and nginx with the shipped configuration', () => {
    const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, any> };
    const shiftdesks = Object.entries(compose.services).filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile');
    expect(shiftdesks.length).toBeGreaterThanOrEqual(2);
    for (const [, s] of shiftdesks)
      expect(Object.keys(s.environment)).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']));
    expect(compose.services.postgres.image).toMatch(/^postgres:/);
    expect(compose.services.redis.image).toMatch(/^redis:/);
    expect(compose.services.nginx.volumes.join(' ')).toContain('./nginx/shiftdesk.conf');
    // nginx's upstream names exactly the ShiftDesk services.
    const upstream = [...read('nginx', 'shiftdesk.conf').matchAll(/^\s*server (shiftdesk-\d+):4000/gm)].map((m) => m[1]);
    expect(upstream.sort()).toEqual(shiftdesks.map(([name]) => name).sort());
  });

  it('Dockerfile: multi-stage, an unprivileged user, node itself as PID 1 (exec form, not npm)', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    const user = /^USER (\S+)/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)![1];
    const argv = JSON.parse(cmd) as string[];
    expect(argv[0]).toBe('node');
    expect(argv[argv.length - 1]).toBe('dist/src/main.js');
    expect(dockerfile).not.toMatch(/^ENTRYPOINT/m);
    // The image runs the server with the V8 flags `npm start` uses (young generation, heap growth): the
    // benchmarks measure those.
    const start = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(argv.slice(1, -1)).toEqual(start.split(/\s+/).filter((arg) => arg.startsWith('--')));
  });
});
