/**
 * Values raptor must never print or store, although it did not make them: the credentials a login
 * recipe reads from its environment. A recipe is the user's code, and its errors may quote what
 * it read (`throw new Error('login refused for ' + password)`); raptor records such messages
 * (`LOGIN_FAILED`, a keeper's `metadata.keep.error`) and prints them. So every value of a
 * `--secrets-file`, and every environment variable whose name says it is a credential, is
 * replaced by `***` in what raptor writes out: messages, logs, events, statuses.
 *
 * Only values under a credential's name (`ACME_PASSWORD`, `API_TOKEN`, `RAPTOR_KEY`…), in the
 * file or the environment: a user name beside them (`ACME_USER=alice`) stays readable, or every
 * session called `alice` would print as `***`. Short values are skipped (`1`, `true`, `dev`).
 */

/** Names of environment variables that hold credentials. */
const SECRET_NAME = /pass|secret|token|api.?key|(^|_)key$|private|credential|auth|cookie|otp/i;
/** Names that match but hold where things are, not credentials (a socket, a file). */
const NOT_SECRET = new Set(['SSH_AUTH_SOCK', 'XAUTHORITY', 'GPG_AGENT_INFO', 'KRB5CCNAME']);
/** Shorter values are not worth the false hits; a secrets file's are the user's word, so shorter ones count. */
const MIN_ENV_LENGTH = 8;
const MIN_FILE_LENGTH = 6;
const MASK = '***';

const remembered = new Set<string>();

/** Variables to treat as secrets from now on in this process (a `--secrets-file`'s): those with a credential's name. */
export function rememberSecrets(variables: Record<string, string>): void {
  for (const [name, value] of Object.entries(variables)) if (value.length >= MIN_FILE_LENGTH && SECRET_NAME.test(name)) remembered.add(value);
}

/** Every secret value known now, longest first (so a secret containing another is masked whole). */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set(remembered);
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= MIN_ENV_LENGTH && SECRET_NAME.test(name) && !NOT_SECRET.has(name)) values.add(value);
  }
  return [...values].sort((a, b) => b.length - a.length);
}

/** `text` with every known secret replaced by `***`. */
export function redactKnownSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const secret of knownSecrets(env)) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}
