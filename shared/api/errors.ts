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

/** zod issues as field errors; an unknown key gets one error of its own, naming it. */
export function fieldErrorsFrom(error: z.ZodError, prefix = ''): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ field: path ? `${path}.${key}` : key, message: 'unknown field' });
    } else {
      errors.push({ field: path, message: issue.message });
    }
  }
  return errors;
}
