import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RequestScope } from '../../platform/request-scope';
import { Role } from '../../platform/auth/roles';
import { withRole } from '../../platform/auth/scope';
import { inTransaction } from '../../platform/db/transaction';
import { InvalidInput } from '../../platform/errors';
import { consumeOrThrow, RateLimiters } from '../../platform/rate-limit';
import type { AccountService } from '../accounts/account.service';
import { User } from '../accounts/user.entity';
import type { AuditService } from '../audit/audit.service';
import type { NotificationService } from '../notifications/notification.service';
import type { DataKeyStore } from './data-keys';
import { MAX_REASON_LENGTH } from './reveal.service';

/** requestDataErasure calls per customer and day: a request is a message to admins, not something to repeat. */
const ERASURE_REQUESTS_PER_DAY = 3;

function reasonOf(reason: string | null | undefined, required: boolean): string {
  const why = (reason ?? '').trim();
  if ((required && !why) || why.length > MAX_REASON_LENGTH)
    throw new InvalidInput('reason', `must be ${required ? 1 : 0} to ${MAX_REASON_LENGTH} characters`);
  return why;
}

/**
 * The deletion right (PIPL art. 47): forgetCustomer destroys the customer's data key (crypto-shredding: every
 * sealed original of theirs becomes unreadable everywhere, backups included, while the masked texts stay for
 * statistics) and anonymises the account, audited, in one transaction. A customer asks with requestDataErasure.
 */
export class ErasureService {
  private readonly requestLimiter: RateLimiterAbstract;

  constructor(
    private readonly keys: DataKeyStore,
    private readonly accounts: AccountService,
    private readonly audit: AuditService,
    private readonly notifications: NotificationService,
    limiters: RateLimiters,
  ) {
    this.requestLimiter = limiters.create('data-erasure-request', ERASURE_REQUESTS_PER_DAY, 86_400);
  }

  async forgetCustomer(scope: RequestScope, userId: string, reason: string): Promise<boolean> {
    withRole(scope.viewer, Role.ADMIN);
    const why = reasonOf(reason, true);
    return inTransaction(scope.em, async (em, afterCommit) => {
      const user = await this.accounts.anonymiseCustomer(em, afterCommit, userId);
      await this.keys.destroy(em, user.id);
      this.audit.record(em, scope, {
        action: 'customer.forget',
        targetType: 'User',
        targetId: user.id,
        summary: 'Forgot a customer: data key destroyed, account anonymised',
        comment: why,
      });
      await em.flush();
      afterCommit(() => this.keys.evict(user.id));
      return true;
    });
  }

  async requestDataErasure(scope: RequestScope, reason: string | null | undefined): Promise<boolean> {
    const viewer = withRole(scope.viewer, Role.CUSTOMER);
    const why = reasonOf(reason, false);
    await consumeOrThrow(this.requestLimiter, viewer.id, 'Your request has been sent already; an admin will answer it');
    return inTransaction(scope.em, async (em, afterCommit) => {
      const admins = await em.find(User, { role: Role.ADMIN, active: true }, { fields: ['id'] });
      for (const admin of admins) {
        this.notifications.notify(em, afterCommit, {
          userId: admin.id,
          kind: 'DATA_ERASURE_REQUESTED',
          title: { id: 'notification.erasureRequested.title' },
          body: why
            ? { id: 'notification.erasureRequestedWithReason.body', params: { customerId: viewer.id, reason: why } }
            : { id: 'notification.erasureRequested.body', params: { customerId: viewer.id } },
        });
      }
      this.audit.record(em, scope, {
        action: 'customer.erasure_request',
        targetType: 'User',
        targetId: viewer.id,
        summary: 'Asked for their personal data to be erased',
        comment: why || null,
      });
      await em.flush();
      return true;
    });
  }
}
