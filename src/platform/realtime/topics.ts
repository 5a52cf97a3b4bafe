/** Topic names. Each is narrow (addressed by an id) so no subscriber filters events meant for others. */
export const Topics = {
  /** `NOTIFICATIONS:<userId>`: a user's new notifications. */
  NOTIFICATIONS: 'NOTIFICATIONS',
  /** Process-wide: a user's tokens were revoked (role change, deactivation); open sockets close. */
  SESSION_REVOKED: 'SESSION_REVOKED',
  /** `PRESENCE:<departmentId>` for a department's board, `PRESENCE:ALL` for admins watching everyone. */
  PRESENCE: 'PRESENCE',
} as const;

/** The id of the everyone-topic of per-department topics (`PRESENCE:ALL`). */
export const ALL_DEPARTMENTS = 'ALL';
