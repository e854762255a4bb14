/**
 * Outcome of a hot-path operation (emit, evaluate, send). Hot paths return one of these
 * instead of throwing, so a caller can count and retry without try/catch on every call.
 */
export type Result =
  | { readonly status: 'success' }
  | { readonly status: 'retryable'; readonly error: string; readonly retryInMillis?: number }
  | { readonly status: 'failure'; readonly error: string };

export const SUCCESS: Result = Object.freeze({ status: 'success' });

export function retryable(error: string, retryInMillis?: number): Result {
  return retryInMillis === undefined ? { status: 'retryable', error } : { status: 'retryable', error, retryInMillis };
}

export function failure(error: string): Result {
  return { status: 'failure', error };
}
