import { ADMIN_EMAIL, startTestApp, TestApp } from '../support/harness';

describe('a fresh server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it('has created the first admin, who can sign in and read me', async () => {
    const token = await app.adminToken();
    const data = await app.data<{ me: { email: string; role: string } }, unknown>('{ me { email role } }', undefined, token);
    expect(data.me).toEqual({ email: ADMIN_EMAIL, role: 'ADMIN' });
  });

  it('answers GraphQL with Cache-Control: no-store (responses carry personal data)', async () => {
    const token = await app.adminToken();
    const res = await app.exec('{ me { email } }', undefined, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
