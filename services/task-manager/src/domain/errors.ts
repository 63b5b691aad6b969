// AppError: the one error type the domain throws; the HTTP layer renders it, nothing else does.
import { ERROR_STATUS } from '@taskwire/contracts';
import type { ErrorCode, ErrorDetail } from '@taskwire/contracts';

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] | Record<string, unknown> | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }

  static notFound(what: string, id: string): AppError {
    return new AppError('not_found', `${what} ${JSON.stringify(id)} does not exist`);
  }

  static badRequest(message: string, details: ErrorDetail[] | null = null): AppError {
    return new AppError('bad_request', message, details);
  }

  static conflict(message: string, details: Record<string, unknown> | null = null): AppError {
    return new AppError('conflict', message, details);
  }
}
