/**
 * The checks that tell personal numbers from other digit runs: a pattern alone finds order numbers and
 * amounts, a checksum and a real birth date do not.
 */

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS = '10X98765432';
/** The first two digits of a resident ID: the province-level division (GB/T 2260), Hong Kong, Macao, Taiwan. */
const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
  83,
]);

/**
 * A resident ID number (GB 11643-1999): 18 characters whose last is the ISO 7064 MOD 11-2 check character,
 * or a legacy 15-digit one (no check digit, two-digit year of the 1900s); either with a known province and a
 * birth date that exists and is not in the future. `value` holds digits (and a final X) only.
 */
export function isResidentId(value: string, today: Date = new Date()): boolean {
  if (value.length === 18) {
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += (value.charCodeAt(i) - 48) * ID_WEIGHTS[i];
    if (ID_CHECK_CHARS[sum % 11] !== value[17].toUpperCase()) return false;
    return (
      PROVINCES.has(Number(value.slice(0, 2))) &&
      isBirthDate(Number(value.slice(6, 10)), Number(value.slice(10, 12)), Number(value.slice(12, 14)), today)
    );
  }
  if (value.length === 15 && /^\d{15}$/.test(value)) {
    return (
      PROVINCES.has(Number(value.slice(0, 2))) &&
      isBirthDate(1900 + Number(value.slice(6, 8)), Number(value.slice(8, 10)), Number(value.slice(10, 12)), today)
    );
  }
  return false;
}

function isBirthDate(year: number, month: number, day: number, today: Date): boolean {
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1) return false; // 31 April, 29 February of a common year
  return date.getTime() <= today.getTime();
}

/**
 * An 18-digit value with a resident ID's structure (province, then a year, month and day in range): such a
 * number that fails the ID check is a mistyped ID, not a card that happens to pass Luhn one time in ten.
 */
export function hasResidentIdShape(value: string): boolean {
  return (
    value.length === 18 &&
    PROVINCES.has(Number(value.slice(0, 2))) &&
    /^\d{6}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]$/.test(value)
  );
}

/** The Luhn (mod 10) check of a card number; `value` holds digits only. */
export function passesLuhn(value: string): boolean {
  let sum = 0;
  for (let i = value.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return value.length > 0 && sum % 10 === 0;
}
