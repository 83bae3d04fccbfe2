import { AppError } from '../errors.js';

/**
 * An OData request we refuse: answered as the OData JSON error body `{"error": {"code", "message"}}`
 * with its status. Messages say what was wrong in the request, never what the SQL was.
 */
export class ODataError extends AppError {
  readonly odataCode: string;
  constructor(status: number, odataCode: string, message: string) {
    super(status === 401 ? 'TOKEN_INVALID' : status === 404 ? 'NOT_CONFIGURED' : 'INVALID_MESSAGE', message, { status });
    this.odataCode = odataCode;
  }
}

export const badQuery = (message: string): ODataError => new ODataError(400, 'BadRequest', message);
