/** The REST client: the SDK's own WeftClient, pointed at the server that served this page. */
import { WeftClient, WeftApiError } from '../../src/sdk/client.js';

export const client = new WeftClient(location.origin);
export { WeftApiError };

/** A message for the user from any error (the server's `{error, message}` when there is one). */
export function errorText(err: unknown): string {
  if (err instanceof WeftApiError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
