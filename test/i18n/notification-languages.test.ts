import { NotificationsDocument, OnNotificationDocument, RequestLeaveDocument, SetMyLocaleDocument } from '../generated/graphql';
import { startTestApp, subscribe, TestApp } from '../support/harness';
import { watchSubscriptions } from '../support/live-subscriptions';

/**
 * Notifications are stored as catalogue message ids and parameters and rendered when read or pushed, in the
 * reader's language of that moment (stored locale, else Accept-Language / connection_init, else the role's
 * default); `kind` and the values quoted (names, dates, codes) are never translated.
 */
describe('notifications in the reader’s language', () => {
  let app: TestApp;
  let departmentId: string;
  let day = 1;
  beforeAll(async () => {
    app = await startTestApp();
    departmentId = (await app.createDepartment('Notices', 'notices')).id;
  });
  afterAll(() => app.stop());

  /** An agent of the department asks for one day of leave: its manager is told (LEAVE_REQUESTED). */
  async function leaveRequested(manager: { token: string }, displayName: string) {
    const agent = await app.createUser({ role: 'AGENT', departmentId, displayName });
    const date = `2032-04-${String(day++).padStart(2, '0')}`;
    await app.data(RequestLeaveDocument, { input: { startDate: date, endDate: date, type: 'PERSONAL' } }, agent.token);
    return date;
  }
  const latest = async (token: string, headers: Record<string, string> = {}) => {
    const res = await app.exec(NotificationsDocument, { first: 1 }, token, headers);
    expect(res.errors).toBeUndefined();
    return res.data!.notifications.nodes[0];
  };

  it('staff read English by default, Chinese with Accept-Language: zh-CN, and their stored locale over both', async () => {
    const manager = await app.createUser({ role: 'MANAGER', departmentId });
    const date = await leaveRequested(manager, '王小明');
    const english = await latest(manager.token);
    expect(english).toMatchObject({ kind: 'LEAVE_REQUESTED', title: '王小明 asks for 1 day(s) of leave' });
    expect(english.body).toContain(date);

    const chinese = await latest(manager.token, { 'accept-language': 'zh-CN,zh;q=0.9' });
    expect(chinese).toMatchObject({ id: english.id, kind: 'LEAVE_REQUESTED', title: '王小明 申请休假 1 天', body: english.body });

    // Rendered when read: the row written before the change reads in the locale chosen after it.
    await app.data(SetMyLocaleDocument, { locale: 'zh-CN' }, manager.token);
    expect((await latest(manager.token, { 'accept-language': 'en' })).title).toBe('王小明 申请休假 1 天');
    await app.data(SetMyLocaleDocument, { locale: null }, manager.token);
    expect((await latest(manager.token)).title).toBe('王小明 asks for 1 day(s) of leave');
  });

  it('an unsupported Accept-Language falls back to the role’s default and says so', async () => {
    const manager = await app.createUser({ role: 'MANAGER', departmentId });
    await leaveRequested(manager, 'Li Lei');
    const res = await app.exec(NotificationsDocument, { first: 1 }, manager.token, { 'accept-language': 'fr-FR' });
    expect(res.data!.notifications.nodes[0].title).toBe('Li Lei asks for 1 day(s) of leave');
    const body = (await (
      await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}`, 'accept-language': 'fr-FR' },
        body: JSON.stringify({ query: '{ notifications(first: 1) { nodes { title } } }' }),
      })
    ).json()) as { extensions?: unknown };
    expect(body.extensions).toEqual({ locale: { requested: 'fr-FR', used: 'en', supported: ['zh-CN', 'en'] } });
  });

  it('are pushed over graphql-ws in the language of each connection', async () => {
    const manager = await app.createUser({ role: 'MANAGER', departmentId });
    const auth = `Bearer ${manager.token}`;
    const live = watchSubscriptions(app.services.pubsub);
    const zh = subscribe(app.ws(manager.token, { connectionParams: { authorization: auth, locale: 'zh-CN' } }), OnNotificationDocument);
    const en = subscribe(app.ws(manager.token), OnNotificationDocument);
    await live.until(2);
    await leaveRequested(manager, '韩梅梅');
    const [pushedZh, pushedEn] = await Promise.all([zh.next(), en.next()]);
    expect(pushedZh.data?.notifications).toMatchObject({ kind: 'LEAVE_REQUESTED', title: '韩梅梅 申请休假 1 天' });
    expect(pushedEn.data?.notifications).toMatchObject({ kind: 'LEAVE_REQUESTED', title: '韩梅梅 asks for 1 day(s) of leave' });
    expect(pushedZh.data?.notifications.id).toBe(pushedEn.data?.notifications.id);
  });
});
