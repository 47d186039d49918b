/**
 * The admin API's errors, each with its HTTP status. Use cases throw them; the
 * dispatcher turns them into responses. Anything else is a 500 with a
 * correlation id and no detail.
 */
import type { z } from 'zod';
import type { $ZodRawIssue } from 'zod/v4/core';

/** One problem with the request: the field (dotted path) and what was expected. */
export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldError[] = [{ field: '', message }],
    /** Extra members of the response body (for example the tables using a connection). */
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

export class ValidationError extends ApiError {
  constructor(errors: FieldError[]) {
    super(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    this.name = 'ValidationError';
  }
}

export const unauthorized = (message: string) => new ApiError(401, message);
export const forbidden = (message: string) => new ApiError(403, message);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string, details: Record<string, unknown> = {}) =>
  new ApiError(409, message, [{ field: '', message }], details);
export const preconditionRequired = (field: string, message: string) =>
  new ApiError(428, message, [{ field, message }]);

/** A field error, as a ValidationError. */
export function invalid(field: string, message: string): ValidationError {
  return new ValidationError([{ field, message }]);
}

/**
 * zod issues as field errors: one per field (the first problem found), an
 * unknown key named on its own. A whole-object rule broken only because an
 * unknown key was left out ("give at least one field") is not reported twice.
 */
export function fieldErrorsFrom(error: z.ZodError, prefix = ''): FieldError[] {
  const errors: FieldError[] = [];
  const pathOf = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.');
  const withUnknownKeys = new Set(error.issues.filter((i) => i.code === 'unrecognized_keys').map((i) => pathOf(i.path)));
  for (const issue of error.issues) {
    const path = pathOf(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ field: path ? `${path}.${key}` : key, message: 'unknown field' });
    } else if (!(issue.code === 'custom' && withUnknownKeys.has(path)) && !errors.some((e) => e.field === path)) {
      errors.push({ field: path, message: issue.message });
    }
  }
  return errors;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  return article(typeof value);
}

const EXPECTED: Record<string, string> = { int: 'whole number', object: 'JSON object', array: 'JSON array' };

/**
 * zod's issues in words an admin reads: what the field must be and, where it
 * helps, what was sent instead. Messages a schema sets itself are kept.
 */
export function readableIssue(issue: $ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `required: give ${article(expected)}`;
      return `must be ${article(expected)}, not ${kindOf(issue.input)}`;
    }
    case 'too_small': {
      const bound = String(issue.minimum);
      if (issue.origin === 'string') return `must be at least ${bound} character${bound === '1' ? '' : 's'} long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${bound} item${bound === '1' ? '' : 's'}`;
      return issue.inclusive ? `must be ${bound} or more` : `must be more than ${bound}`;
    }
    case 'too_big': {
      const bound = String(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${bound} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${bound} items`;
      return issue.inclusive ? `must be ${bound} or less` : `must be less than ${bound}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `must be ${article(issue.format === 'regex' ? 'value of the expected form' : issue.format)}`;
    case 'invalid_union':
      return 'matches none of the allowed forms';
    default:
      return undefined;
  }
}
