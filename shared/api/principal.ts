/**
 * Who is calling. In Azure, App Service authentication (Easy Auth) validates
 * the caller's token, strips any incoming copy of its headers, and passes the
 * identity as `x-ms-client-principal`: base64 JSON
 * `{ auth_typ, name_typ, role_typ, claims: [{ typ, val }] }`.
 * Locally, DEV_PRINCIPAL with ALLOW_DEV_PRINCIPAL=true acts as that user with
 * every role when no principal header is sent.
 */
import type { Settings } from '../settings.js';
import { unauthorized } from './errors.js';

export interface Principal {
  /** The user name: changed_by, create_user and last_modified_user. */
  name: string;
  roles: ReadonlySet<string>;
}

/** What an operation requires of the caller. `public` needs no principal at all. */
export type Access = 'public' | 'reader' | 'admin' | 'promoter';

interface Claim {
  typ: string;
  val: string;
}

const NAME_CLAIMS = [
  'name',
  'preferred_username',
  'upn',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'email',
];
/**
 * An app-only caller (a service principal's token) has no user name: it is
 * named by its application id, else its object id, as `app:<id>`.
 */
const APP_CLAIMS = ['appid', 'azp', 'http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
const ROLE_CLAIMS = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];

/** The longest user name the control tables hold (VARCHAR(255)). */
const MAX_NAME = 255;

function decodeClaims(header: string): { claims: Claim[]; nameTyp?: string; roleTyp?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw unauthorized('x-ms-client-principal: not base64-encoded JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { claims?: unknown }).claims)) {
    throw unauthorized('x-ms-client-principal: no claims');
  }
  const p = parsed as { claims: unknown[]; name_typ?: unknown; role_typ?: unknown };
  const claims = p.claims.filter(
    (c): c is Claim => typeof c === 'object' && c !== null && typeof (c as Claim).typ === 'string' && typeof (c as Claim).val === 'string',
  );
  return {
    claims,
    ...(typeof p.name_typ === 'string' ? { nameTyp: p.name_typ } : {}),
    ...(typeof p.role_typ === 'string' ? { roleTyp: p.role_typ } : {}),
  };
}

/**
 * The principal of a request, from its headers; undefined when there is none.
 * Throws 401 for a malformed principal or one without a user name.
 */
export function parsePrincipal(header: (name: string) => string | null): Principal | undefined {
  const encoded = header('x-ms-client-principal');
  if (!encoded) return undefined;
  const { claims, nameTyp, roleTyp } = decodeClaims(encoded);
  const valueOf = (typ: string) => claims.find((c) => c.typ === typ)?.val;
  const name =
    [nameTyp, ...NAME_CLAIMS].map((typ) => (typ ? valueOf(typ) : undefined)).find((v) => v && v.trim() !== '') ??
    header('x-ms-client-principal-name') ??
    undefined;
  const app = APP_CLAIMS.map(valueOf).find((v) => v && v.trim() !== '');
  const chosen = name && name.trim() !== '' ? name : app ? `app:${app.trim()}` : undefined;
  if (!chosen) throw unauthorized('x-ms-client-principal: no user name, app id or object id claim; sign in again');
  // PostgreSQL text cannot hold NUL, and a control character has no place in an audit name.
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(chosen) || /[\ud800-\udfff]/u.test(chosen)) {
    throw unauthorized('x-ms-client-principal: the caller name contains control characters or invalid Unicode; sign in with a valid account');
  }
  const roleTypes = new Set([...(roleTyp ? [roleTyp] : []), ...ROLE_CLAIMS]);
  const roles = new Set(claims.filter((c) => roleTypes.has(c.typ)).map((c) => c.val));
  return { name: chosen.trim().slice(0, MAX_NAME), roles };
}

/** The principal of a request, or the development principal when allowed and no header was sent. */
export function resolvePrincipal(header: (name: string) => string | null, settings: Settings): Principal | undefined {
  const principal = parsePrincipal(header);
  if (principal) return principal;
  if (settings.ALLOW_DEV_PRINCIPAL && settings.DEV_PRINCIPAL) {
    return {
      name: settings.DEV_PRINCIPAL.slice(0, MAX_NAME),
      roles: new Set([settings.API_READER_ROLE, settings.API_ADMIN_ROLE, settings.API_PROMOTER_ROLE]),
    };
  }
  return undefined;
}

/** The roles that grant `access` (admins may read; promotion needs its own role). */
export function rolesFor(access: Exclude<Access, 'public'>, settings: Settings): string[] {
  switch (access) {
    case 'reader':
      return [settings.API_READER_ROLE, settings.API_ADMIN_ROLE];
    case 'admin':
      return [settings.API_ADMIN_ROLE];
    case 'promoter':
      return [settings.API_PROMOTER_ROLE];
  }
}

/** Encodes a principal header as App Service does (tests, local tools). */
export function encodePrincipal(name: string, roles: string[]): string {
  const claims = [{ typ: 'name', val: name }, ...roles.map((val) => ({ typ: 'roles', val }))];
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', name_typ: 'name', role_typ: 'roles', claims })).toString('base64');
}
