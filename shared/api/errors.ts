/**
 * The admin API's errors, each with its HTTP status. Use cases throw them; the
 * dispatcher turns them into responses. Anything else is a 500 with a
 * correlation id and no detail.
 */
import type { z } from 'zod';

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
