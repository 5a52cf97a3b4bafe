/** Staffing configuration (the STAFFING_* block of config.ts) and the limits of its inputs, in one place. */
export interface StaffingSettings {
  /** Weeks of history the forecast learns from. */
  historyWeeks: number;
  /** Share of contacts to answer within serviceLevelSeconds (0 < x < 1). */
  serviceLevelTarget: number;
  serviceLevelSeconds: number;
  /** Highest share of time an agent's seats may be busy (0 < x ≤ 1). */
  maxOccupancy: number;
  /** Share of scheduled time not spent on contacts: breaks, meetings, training (0 ≤ x < 1). */
  shrinkage: number;
  minRestHours: number;
  maxDaysPerWeek: number;
  maxWeeklyHours: number;
  /** The solver stops after this long and returns the best schedule found. */
  proposalTimeLimitSeconds: number;
}

export const DEFAULT_INTERVAL_MINUTES = 30;
export const MAX_FORECAST_DAYS = 90;
/** A proposal spans at most this many days (the solver's model grows with agents × days × shift types). */
export const MAX_PROPOSAL_DAYS = 31;
/** Used when a department has no ended chats to measure. */
export const DEFAULT_HANDLING_SECONDS = 300;

/** Why a service-level target is not usable, or null. Shared by the configuration and the API's arguments. */
export function serviceLevelProblem(level: number): string | null {
  return Number.isFinite(level) && level > 0 && level < 1 ? null : `must be a share strictly between 0 and 1 (0.8 is 80 %), not ${level}`;
}

export function targetSecondsProblem(seconds: number): string | null {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= 3600
    ? null
    : `must be a whole number of seconds from 1 to 3600, not ${seconds}`;
}

/** Why an interval (minutes) does not fit: it must divide a day and be at least 5 minutes. */
export function intervalProblem(minutes: number): string | null {
  return Number.isInteger(minutes) && minutes >= 5 && minutes <= 1440 && 1440 % minutes === 0
    ? null
    : `must divide a day into whole intervals of at least 5 minutes (15, 30, 60, …), not ${minutes}`;
}
