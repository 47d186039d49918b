/**
 * Every setting the product reads, in one zod schema. Settings come from the
 * environment (app settings in Azure, local.settings.json under Core Tools, the
 * shell for `npm start`), are validated once, and a bad or missing one gives a
 * single message naming it and the expected form.
 *
 * Infra (infra/main.bicep) and local.settings.sample.json must set every key of
 * `settingsSchema`; test/infra.test.ts fails on any drift.
 */
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const jsonObject = <T extends z.ZodTypeAny>(value: T, example: string) =>
  z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a JSON object, for example ${example}` });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), value));

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const settingsSchema = z.object({
  // Control database (Lakebase). Without it, `npm start` runs an embedded PostgreSQL.
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL, for example postgresql://user@host:5432/dataloader')
    .optional(),
  /** How the control database connection authenticates: the URL's password, an Entra ID token, or a Databricks OAuth token. */
  CONTROL_DB_AUTH: z.enum(['password', 'entra', 'databricks']).default('password'),
  /** `require` (default) or `disable`; the URL's sslmode=disable also turns SSL off. */
  CONTROL_DB_SSL: z.enum(['require', 'disable']).default('require'),
  CONTROL_DB_STATEMENT_TIMEOUT_MS: positiveInt(30_000),
  CONTROL_DB_POOL_MAX: positiveInt(10),
  /** Databricks workspace URL and service principal for Lakebase OAuth tokens. */
  DATABRICKS_HOST: z.string().url().optional(),
  DATABRICKS_CLIENT_ID: z.string().optional(),
  DATABRICKS_CLIENT_SECRET: z.string().optional(),
  /** Pre-production control database, the source of promotions. */
  PREPROD_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),

  // Where loads go: a table_control_dbconfig row.
  DESTINATION_DB_CONFIG_KEY: z.string().min(1).default('destination'),
  /** Key Vault URL per db_kv_scope. A scope without a vault resolves secret names from the environment. */
  KEYVAULT_URLS: jsonObject(z.string().url(), '{"azure-keyvault":"https://kv-dataloader.vault.azure.net"}'),
  SECRET_CACHE_TTL_SECONDS: positiveInt(300),

  // Queue. With a namespace the Service Bus adapter is used, otherwise the local queue in the control database.
  ServiceBusConnection__fullyQualifiedNamespace: z.string().optional(),
  LOADS_QUEUE_NAME: z.string().min(1).default('loads'),
  LOCAL_QUEUE_LOCK_SECONDS: positiveInt(300),
  LOCAL_QUEUE_MAX_DELIVERIES: positiveInt(5),

  // Sensor.
  SENSOR_SCHEDULE: z.string().default('0 * * * * *'),
  SENSOR_BATCH_SIZE: positiveInt(500),
  SENSOR_TICK_BUDGET_MS: positiveInt(45_000),
  CRON_TIMEZONE: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone, for example UTC or Europe/Amsterdam'),
  SOURCE_CONCURRENCY_LIMIT: positiveInt(4),
  SOURCE_CONCURRENCY_OVERRIDES: jsonObject(z.number().int().positive(), '{"sql_sales_prod":2}'),

  // Reaper.
  REAPER_SCHEDULE: z.string().default('30 */5 * * * *'),
  QUEUED_TIMEOUT_MINUTES: positiveInt(60),
  /** A run's hard deadline, from its start (fractions allowed, e.g. 0.1 for 6 s in tests). */
  IN_PROGRESS_TIMEOUT_MINUTES: z.coerce.number().positive().default(180),
  HEARTBEAT_INTERVAL_SECONDS: positiveInt(30),

  // Loader.
  LOADER_MAX_ATTEMPTS: positiveInt(3),
  LOADER_CONCURRENCY: positiveInt(4),
  PARTITION_READ_CONCURRENCY: positiveInt(4),
  BACKFILL_TIME_BUDGET_SECONDS: positiveInt(600),
  INCREMENTAL_LOOKBACK_MINUTES: z.coerce.number().int().min(0).default(10),
  // Seconds a settled watermark keeps below the oldest open source transaction (clock skew of writers' stamps).
  WATERMARK_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(3600).default(5),

  // Lakehouse destinations.
  /** Days the databricks destination keeps staged Parquet after the commit (0: removed at once). */
  DATABRICKS_STAGING_RETENTION_DAYS: z.coerce.number().int().min(0).default(0),

  // Admin API.
  API_READER_ROLE: z.string().min(1).default('DataLoader.Reader'),
  API_ADMIN_ROLE: z.string().min(1).default('DataLoader.Admin'),
  API_PROMOTER_ROLE: z.string().min(1).default('DataLoader.Promoter'),
  /** For local runs only: a user name that acts with every role when no principal header is sent. Off when empty. */
  DEV_PRINCIPAL: z.string().default(''),
  ALLOW_DEV_PRINCIPAL: flag,

  /**
   * For local runs only: a db_kv_scope without a vault in KEYVAULT_URLS reads
   * secret names from the process environment. Off (the default, and in Azure,
   * where the environment is the app settings), such a scope fails the run.
   */
  SECRETS_FROM_ENVIRONMENT: flag,
  // Runs that keep going: the wait after the 1st, 2nd, ... consecutive transient failure (minutes, comma
  // separated, the last one repeating; never later than the next cron slot), and the pause before a
  // chunked_backfill with chunks left runs again.
  RETRY_BACKOFF_MINUTES: z
    .string()
    .default('1,5,15,60')
    .transform((text, ctx) => {
      const steps = text.split(',').map((p) => Number(p.trim()));
      if (steps.length === 0 || steps.some((n) => !Number.isFinite(n) || n <= 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be positive numbers of minutes separated by commas, for example 1,5,15,60' });
        return z.NEVER;
      }
      return steps;
    }),
  BACKFILL_PAUSE_SECONDS: z.coerce.number().int().min(0).default(5),

  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Names of every setting, for the drift check against infra and local settings. */
export const settingNames = Object.keys(settingsSchema.shape) as (keyof Settings)[];

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** Parses settings from an environment. Empty strings count as unset. */
export function parseSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const input: Record<string, string> = {};
  for (const name of settingNames) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    throw new SettingsError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'settings');
        return `${name}: ${issue.message}`;
      }),
    );
  }
  const settings = result.data;
  if (settings.CONTROL_DB_AUTH === 'databricks') {
    const missing = (['DATABRICKS_HOST', 'DATABRICKS_CLIENT_ID', 'DATABRICKS_CLIENT_SECRET'] as const).filter(
      (k) => !settings[k],
    );
    if (missing.length > 0) {
      throw new SettingsError(missing.map((k) => `${k}: required when CONTROL_DB_AUTH=databricks`));
    }
  }
  return settings;
}

let cached: Settings | undefined;

/** The process's settings, parsed on first use. */
export function getSettings(): Settings {
  cached ??= parseSettings(process.env);
  return cached;
}

/** Forgets the parsed settings (tests and the local host change the environment). */
export function resetSettings(): void {
  cached = undefined;
}
