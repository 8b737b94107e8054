// The failures of AWS discovery that callers tell apart, apart from the SDK: they cross from the thread
// that ran the discovery by name, and checking for them loads nothing.

/** AWS_EC2_METADATA_DISABLED=true: there is no IMDS to ask. */
export class ImdsDisabledError extends Error {
  override readonly name = 'ImdsDisabledError';
}

/** No answer from IMDS: not on EC2, or a container behind a hop limit of 1. */
export class ImdsUnreachableError extends Error {
  override readonly name = 'ImdsUnreachableError';
}

/** The API refused for lack of permission: the caller falls back to what IMDS knows. */
export class Ec2UnauthorizedError extends Error {
  override readonly name = 'Ec2UnauthorizedError';
}

const KINDS: Record<string, new (message: string) => Error> = { ImdsDisabledError, ImdsUnreachableError, Ec2UnauthorizedError };

/** An error as it crosses threads, and back. */
export interface ErrorData {
  name: string;
  message: string;
}

export function errorData(e: unknown): ErrorData {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

export function errorFromData(d: ErrorData): Error {
  const Kind = KINDS[d.name];
  return Kind ? new Kind(d.message) : new Error(d.message);
}
