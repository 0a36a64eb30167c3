// Errors the API answers with, in OpenAI's shape ({ error: { message, type, param, code } }), so clients such as
// the official `openai` package raise their usual typed exceptions (BadRequestError, RateLimitError, ...).

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'unavailable_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 naming the offending request field. */
export function invalid(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, message, 'not_found_error');
}

/** Anything that is not an ApiError is a bug on our side: the client sees a 500 without internals. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(500, 'internal server error', 'server_error');
}

/** 404 model_not_found, as OpenAI answers a model name it does not serve. */
export function modelNotFound(asked: string, served: string): ApiError {
  return new ApiError(
    404,
    `the model "${asked}" does not exist here; this server has "${served}"`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );
}
