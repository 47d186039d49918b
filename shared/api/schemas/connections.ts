/**
 * Request schemas of the connections resource (table_control_dbconfig).
 * db_config_value holds Key Vault secret NAMES, never values: each entry must
 * look like a secret name, which a password, a host:port or a connection string
 * cannot.
 */
import { z } from 'zod';
import { DB_TYPES } from '../../control/rows.js';
import { configKey, name, queryFlag, secretName, text, version } from './common.js';

export const connectionParams = z.strictObject({ key: configKey });

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/**
 * host, port, database, user and password (or private_key for snowflake_pem),
 * each a secret name. The connectors also read optional keys (shared/connectors,
 * each one's optionalSecrets): sslmode (a literal mode, or a secret name),
 * trust_server_certificate (SQL Server), schema, warehouse, role and
 * private_key_passphrase (Snowflake), all secret names.
 */
export const dbConfigValue = z
  .strictObject({
    host: secretName,
    port: secretName,
    database: secretName,
    user: secretName,
    password: secretName.optional(),
    private_key: secretName.optional(),
    sslmode: z.union([z.enum(SSL_MODES), secretName]).optional(),
    trust_server_certificate: secretName.optional(),
    private_key_passphrase: secretName.optional(),
    schema: secretName.optional(),
    warehouse: secretName.optional(),
    role: secretName.optional(),
  })
  .meta({ id: 'DbConfigValue', description: 'Key Vault secret names (not values) for each connection detail.' });

const REQUIRED_KEYS = new Set(['host', 'port', 'database', 'user']);

/**
 * PATCH /connections/{key}: the fields to change. db_config_value entries are
 * merged into the stored ones; null removes an optional entry.
 */
export const patchConnectionBody = z
  .strictObject({
    db_config_value: z
      .strictObject(
        Object.fromEntries(
          Object.entries(dbConfigValue.shape).map(([k, s]) => [k, REQUIRED_KEYS.has(k) ? s.optional() : (s as z.ZodOptional<z.ZodType<string>>).unwrap().nullable().optional()]),
        ) as unknown as { [K in keyof typeof dbConfigValue.shape]: z.ZodOptional<z.ZodType<string | null>> },
      )
      .optional(),
    db_type: z.enum(DB_TYPES).optional(),
    db_kv_scope: text(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only').min(1).optional(),
    default_target_schema: name().nullable().optional(),
    last_modified_at: version.optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'last_modified_at'), 'give at least one field to change')
  .meta({ id: 'ConnectionPatch' });
export type PatchConnectionBody = z.output<typeof patchConnectionBody>;

export const putConnectionBody = z
  .strictObject({
    db_config_value: dbConfigValue,
    db_type: z.enum(DB_TYPES),
    /** Which vault resolves the names (KEYVAULT_URLS); default azure-keyvault. */
    db_kv_scope: text(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only').min(1).optional(),
    default_target_schema: name().nullable().optional(),
    /** When given (or an If-Match header), the replace applies only to this version. */
    last_modified_at: version.optional(),
  })
  .superRefine((body, ctx) => {
    const value = body.db_config_value;
    if (body.db_type === 'snowflake_pem') {
      if (!value.password && !value.private_key) {
        ctx.addIssue({ code: 'custom', path: ['db_config_value', 'private_key'], message: 'required for snowflake_pem (or password)' });
      }
    } else {
      if (!value.password) ctx.addIssue({ code: 'custom', path: ['db_config_value', 'password'], message: `required for ${body.db_type}` });
      if (value.private_key) {
        ctx.addIssue({ code: 'custom', path: ['db_config_value', 'private_key'], message: 'only snowflake_pem connections use a private key' });
      }
    }
  })
  .meta({ id: 'ConnectionPut' });
export type PutConnectionBody = z.output<typeof putConnectionBody>;

export const deleteConnectionQuery = z.strictObject({
  /** Delete even when tables use it: their db_config_key becomes NULL (audited as bulk_edit). */
  force: queryFlag.optional(),
});
